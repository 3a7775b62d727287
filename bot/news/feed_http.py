"""One conditional, size-capped, time-bounded HTTP GET of a feed.

``download`` never blocks much longer than ``timeout_seconds`` from connect to last byte, status
line and headers included (``feed_deadline`` shuts the socket down at the deadline, so a server
dripping its head a byte at a time cannot hold it), and never holds more than ``max_bytes`` of body
in memory. The cap
counts *decoded* bytes: requests/urllib3 un-gzip while streaming (urllib3 2.x decodes at most the
requested amount per read), so a small gzip bomb is refused like a large plain body. A
``Content-Length`` above the cap is refused before any body is read. The body must be complete
within ``timeout_seconds`` of the request's start.

There is no retry inside one call: the caller's per-feed backoff is the bounded retry.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests
import urllib3

from bot.news.feed_deadline import Deadline, DeadlineAdapter

ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
USER_AGENT = "ml-paper-bot/0.1 (+feed reader)"
_CHUNK = 64 * 1024
_MAX_REASON = 300  # urllib3's connection errors are long; the log needs the gist


class FeedError(Exception):
    """A feed could not be fetched or read; ``str(error)`` is the reason that gets logged."""


@dataclass(frozen=True)
class FeedResponse:
    status: int  # 200 (body holds the feed) or 304 (nothing new since the validators)
    body: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None


def new_session() -> requests.Session:
    """A session for feeds: our User-Agent and Accept headers, a few redirects at most."""
    session = requests.Session()
    session.headers.update({"User-Agent": USER_AGENT, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"})
    session.max_redirects = 5
    adapter = DeadlineAdapter()  # max_retries 0: the per-feed backoff is the retry
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def download(
    session: requests.Session,
    url: str,
    *,
    timeout_seconds: float,
    max_bytes: int,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FeedResponse:
    """GET ``url``; raises ``FeedError`` on a timeout, connection error, HTTP error or oversize body."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    started = time.monotonic()
    timeout = (timeout_seconds, timeout_seconds)  # (connect, each read wait)
    with Deadline(timeout_seconds).running() as deadline:
        try:
            response = _get(session, url, headers, timeout, max_bytes, started, deadline, timeout_seconds)
            if deadline.expired:  # cut mid-body: what arrived may look complete but is not
                raise FeedError("deadline")
            return response
        except (FeedError, requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            if deadline.expired:  # the watchdog cut a dripping status line, headers or body
                raise FeedError(
                    f"timeout: {deadline.awaiting} not complete after {timeout_seconds:g} s"
                ) from None
            if isinstance(exc, FeedError):
                raise
            raise _as_feed_error(exc, timeout_seconds) from None


def _get(
    session: requests.Session,
    url: str,
    headers: dict[str, str],
    timeout: tuple[float, float],
    max_bytes: int,
    started: float,
    deadline: Deadline,
    timeout_seconds: float,
) -> FeedResponse:
    with session.get(url, headers=headers, timeout=timeout, stream=True) as resp:
        deadline.awaiting = "body"
        if resp.status_code == 304:
            return FeedResponse(
                304, etag=headers.get("If-None-Match"), last_modified=headers.get("If-Modified-Since")
            )
        if resp.status_code >= 400:
            raise FeedError(f"HTTP {resp.status_code} {resp.reason or ''}".strip())
        if resp.status_code != 200:
            raise FeedError(f"unexpected HTTP status {resp.status_code}")
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise FeedError(f"feed larger than {max_bytes} bytes (Content-Length {declared})")
        body = _read_capped(resp, max_bytes, started, timeout_seconds)
        return FeedResponse(
            200,
            body=body,
            content_type=resp.headers.get("Content-Type"),
            etag=resp.headers.get("ETag"),
            last_modified=resp.headers.get("Last-Modified"),
        )


def _as_feed_error(exc: BaseException, timeout_seconds: float) -> FeedError:
    if isinstance(exc, requests.Timeout):
        return FeedError(f"timeout after {timeout_seconds:g} s")
    if isinstance(exc, requests.ConnectionError):
        # requests reports a read timeout *during the body* as a ConnectionError
        if "timed out" in str(exc).lower():
            return FeedError(f"timeout after {timeout_seconds:g} s")
        return FeedError(_short(f"connection error: {exc}"))
    return FeedError(_short(f"request failed: {type(exc).__name__}: {exc}"))


def _read_capped(resp: requests.Response, max_bytes: int, started: float, timeout_seconds: float) -> bytes:
    # read1 waits for at most one socket read (bounded by the read timeout) per call, so the total
    # deadline is checked between reads: a server dripping a byte at a time cannot hold the fetch.
    # (iter_content would block until a whole chunk arrived.)
    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := resp.raw.read1(_CHUNK, decode_content=True):
            size += len(chunk)
            if size > max_bytes:
                raise FeedError(f"feed larger than {max_bytes} bytes")
            if time.monotonic() - started > timeout_seconds:
                raise FeedError(f"timeout: body not complete after {timeout_seconds:g} s")
            chunks.append(chunk)
    except urllib3.exceptions.ReadTimeoutError:
        raise FeedError(f"timeout after {timeout_seconds:g} s") from None
    except urllib3.exceptions.HTTPError as exc:  # dropped connection, bad gzip, short body
        raise FeedError(_short(f"broken response: {type(exc).__name__}: {exc}")) from None
    return b"".join(chunks)


def _short(text: str) -> str:
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 3] + "..."
