"""Bounded HTTP for the Alpaca trading client: timeouts, one retry policy, safe order submission.

alpaca-py's ``RESTClient`` sets no timeout (a hung socket freezes the daemon) and retries 429/504
itself, *including POSTs*: a 504 that arrives after the order was created would be sent again and
double the order. So ``build_trading_client`` switches that retry off and mounts a default timeout
on the client's ``requests`` session, and every call goes through ``RetryPolicy``:

| call | on 429 / 5xx / timeout / dropped connection / malformed JSON |
|---|---|
| ``call`` (GET, DELETE: idempotent) | retry with exponential backoff + jitter, honouring Retry-After |
| ``submit`` (POST /v2/orders) | never resend blind: wait, look the ``client_order_id`` up, resend only if the broker does not have it |

Answers that no retry can fix are not retried: 401 (bad keys) -> ``ConfigError``; other 4xx ->
``AlpacaRefused`` (the broker turns a refused order into status REJECTED with the reason). A 422
"client_order_id must be unique" on submit means an earlier attempt landed: the order is fetched
and returned. When retries run out -> ``TemporaryError``.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import structlog
from requests.adapters import HTTPAdapter

from bot.config import AlpacaConfig, Secrets
from bot.errors import BotError, ConfigError, TemporaryError

T = TypeVar("T")
log = structlog.get_logger(__name__)

LIVE_HOST = "api.alpaca.markets"
MAX_RETRY_AFTER = 60.0  # a server asking for longer than this is treated as down, not waited for
KEY_VARS = "ALPACA_API_KEY and ALPACA_SECRET_KEY (or APCA_API_KEY_ID and APCA_API_SECRET_KEY)"


class AlpacaRefused(BotError):
    """A 4xx answer no retry can fix (invalid order, insufficient buying power, not found)."""

    def __init__(self, status: int | None, code: int | None, message: str) -> None:
        super().__init__(f"Alpaca refused (HTTP {status}, code {code}): {message}")
        self.status, self.code, self.message = status, code, message


class TimeoutAdapter(HTTPAdapter):
    """An adapter that gives every request a timeout when the caller (alpaca-py) passes none."""

    def __init__(self, timeout: float) -> None:
        super().__init__(max_retries=0)  # urllib3 must not resend either
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def check_paper_url(url: str) -> None:
    """Refuse Alpaca's live trading endpoint: this bot trades paper only."""
    if (urlsplit(url).hostname or "").lower() == LIVE_HOST:
        raise ConfigError(
            f"alpaca.trading_url: {url} is Alpaca's LIVE endpoint; this bot trades paper "
            "only (use https://paper-api.alpaca.markets)"
        )


def build_trading_client(config: AlpacaConfig, secrets: Secrets) -> Any:
    """A ``TradingClient`` for the paper URL with alpaca-py's retry off and a default timeout."""
    check_paper_url(config.trading_url)
    if not (secrets.alpaca_key and secrets.alpaca_secret):
        raise ConfigError(f"Alpaca keys missing: set {KEY_VARS} in the environment")
    from alpaca.trading.client import TradingClient  # heavy import, only when trading

    client = TradingClient(
        secrets.alpaca_key, secrets.alpaca_secret, paper=True, url_override=config.trading_url.rstrip("/")
    )
    # alpaca-py retries 429/504 for every method, POST included; our RetryPolicy owns retries
    client._retry = 0
    client._retry_codes = []
    adapter = TimeoutAdapter(config.timeout_seconds)
    client._session.mount("http://", adapter)
    client._session.mount("https://", adapter)
    return client


@dataclass(frozen=True)
class Failure:
    """What a failed call means. kind: transient | auth | duplicate | refused."""

    kind: str
    status: int | None = None
    code: int | None = None
    message: str = ""
    retry_after: float | None = None


def classify(exc: BaseException) -> Failure | None:
    """Sort an exception from alpaca-py/requests; None for one we do not understand (re-raised)."""
    from alpaca.common.exceptions import APIError

    if isinstance(
        exc,
        (
            requests.Timeout,
            requests.ConnectionError,
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.JSONDecodeError,
        ),
    ):
        return Failure("transient", message=f"{type(exc).__name__}")
    if not isinstance(exc, APIError):
        return None
    status = exc.status_code
    code, message = _error_body(str(exc))
    if status == 429 or (status is not None and status >= 500):
        return Failure("transient", status, code, message, retry_after_seconds(exc.response))
    if status == 401 or (status == 403 and (code is None or code == 40110000)):
        return Failure("auth", status, code, message)
    if status == 422 and "client_order_id must be unique" in message.lower():
        return Failure("duplicate", status, code, message)
    return Failure("refused", status, code, message)


def _error_body(text: str) -> tuple[int | None, str]:
    try:
        body = json.loads(text)
    except ValueError:
        return None, text[:200]
    if not isinstance(body, dict):
        return None, text[:200]
    code = body.get("code")
    return (code if isinstance(code, int) else None), str(body.get("message", ""))


def retry_after_seconds(
    response: requests.Response | None, now: Callable[[], float] = time.time
) -> float | None:
    """How long the server asks us to wait: ``Retry-After`` (seconds), else Alpaca's own
    ``X-RateLimit-Reset`` (the Unix second when the 200-a-minute window refills). Alpaca's 429s
    carry X-RateLimit-Limit/Remaining/Reset and no Retry-After (alpacahq/alpaca-skills,
    "alpaca-broker-rate-limits-resilience": "on 429, use Reset to wait exactly until the window
    opens")."""
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if value is not None:
        try:
            return max(0.0, float(value))
        except ValueError:
            return None  # an HTTP-date: fall back to our own backoff
    reset = response.headers.get("X-RateLimit-Reset")
    try:
        # the reset second is whole: waiting to its end, plus a little, never lands a request early
        return max(0.0, float(reset) - now() + 0.05) if reset is not None else None
    except ValueError:
        return None


class RetryPolicy:
    """The one place that decides whether, and how long to wait before, an Alpaca call is retried."""

    def __init__(
        self,
        max_retries: int,
        backoff_seconds: float,
        *,
        sleep: Callable[[float], None],
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self._sleep = sleep
        self._rng = rng

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Retry-After when the server gave one, else backoff * 2**attempt with "equal jitter"."""
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER)
        base = self.backoff_seconds * 2**attempt
        return base / 2 + self._rng() * base / 2  # jitter spreads restarts of many clients apart

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """Run an idempotent call (GET/DELETE), retrying transient failures."""
        attempt = 0
        while True:
            try:
                return fn()
            except Exception as exc:  # noqa: BLE001 - classify decides, unknown ones re-raise
                failure = self._fail(what, exc)
                self._wait(what, attempt, failure)
                attempt += 1

    def submit(self, what: str, send: Callable[[], T], lookup: Callable[[], T | None]) -> T:
        """POST an order at most once in effect: before any resend, ask whether it already landed.

        ``lookup`` returns the order with this client_order_id or None; when the lookup itself
        fails for good, TemporaryError is raised and nothing is resent (the journal keeps the
        order pending and reconciliation settles it).
        """
        attempt = 0
        while True:
            try:
                return send()
            except Exception as exc:  # noqa: BLE001
                failure = classify(exc)
                if failure is not None and failure.kind == "duplicate":
                    found = self.call(f"{what} lookup", lookup)
                    if found is not None:
                        log.info("alpaca_submit_duplicate_id", what=what)
                        return found
                    raise TemporaryError(f"{what}: Alpaca says the id is taken but cannot find it") from None
                failure = self._fail(what, exc, failure)
                self._wait(what, attempt, failure)
                attempt += 1
                found = self.call(f"{what} lookup", lookup)
                if found is not None:
                    log.warning(
                        "alpaca_submit_landed_despite_error",
                        what=what,
                        status=failure.status,
                        error=failure.message,
                    )
                    return found

    def _fail(self, what: str, exc: Exception, failure: Failure | None = None) -> Failure:
        """Raise for failures no retry can fix; return transient ones."""
        failure = failure or classify(exc)
        if failure is None:
            raise exc
        if failure.kind == "auth":
            raise ConfigError(
                f"Alpaca rejected the API keys (HTTP {failure.status}: {failure.message}); check {KEY_VARS}"
            ) from None
        if failure.kind != "transient":
            raise AlpacaRefused(failure.status, failure.code, failure.message) from None
        return failure

    def _wait(self, what: str, attempt: int, failure: Failure) -> None:
        if attempt >= self.max_retries:
            raise TemporaryError(
                f"{what}: gave up after {attempt + 1} attempts "
                f"(last: HTTP {failure.status} {failure.message})"
            ) from None
        pause = self.delay(attempt, failure.retry_after)
        log.warning(
            "alpaca_retry",
            what=what,
            attempt=attempt + 1,
            status=failure.status,
            error=failure.message,
            wait_seconds=round(pause, 3),
        )
        self._sleep(pause)
