"""A small Alpaca-compatible HTTP server: ``GET /v1beta1/news`` as the real alpaca-py client calls it.

Built to be extended: ``AlpacaHandler`` checks the key headers, dispatches through its ``routes``
table and answers JSON; a fuller fake (trading routes) subclasses it and adds entries::

    class TradingHandler(AlpacaHandler):
        routes = {**AlpacaHandler.routes, ("GET", "/v2/account"): "get_account"}

        def get_account(self, query):
            return 200, {...}

    server = AlpacaFakeServer(TradingHandler).start()

State lives on the server: ``news`` (items shaped like Alpaca's, see ``news_item``), ``delay``
(seconds before every answer), ``fail_next`` (statuses returned, one per request, before normal
answers resume), ``requests`` (method, path, query) for assertions, and ``news_window_field``
(which timestamp ``start``/``end`` bound, see ``AlpacaHandler.get_news``).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

Query = dict[str, str]
WindowField = Literal["created_at", "updated_at"]


def news_item(
    id: int,
    headline: str,
    created_at: datetime,
    *,
    symbols: Sequence[str] = (),
    summary: str = "",
    url: str | None = None,
    source: str = "benzinga",
    updated_at: datetime | None = None,
) -> dict[str, Any]:
    """One article as Alpaca's news API returns it."""
    stamp = lambda ts: ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    return {
        "id": id,
        "headline": headline,
        "author": "Test Author",
        "created_at": stamp(created_at),
        "updated_at": stamp(updated_at or created_at),
        "summary": summary,
        "content": f"<p>{summary}</p>" if summary else "",
        "url": url if url is not None else f"https://example.com/benzinga/news/{id}",
        "images": [],
        "symbols": list(symbols),
        "source": source,
    }


class AlpacaHandler(BaseHTTPRequestHandler):
    """Auth check, route table, JSON answers. Subclasses add routes (see module docstring)."""

    routes: dict[tuple[str, str], str] = {("GET", "/v1beta1/news"): "get_news"}
    server: AlpacaFakeServer

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        state = self.server
        state.requests.append((method, parts.path, query))
        if state.delay:
            state.stopping.wait(state.delay)
        try:
            if (self.headers.get("APCA-API-KEY-ID"), self.headers.get("APCA-API-SECRET-KEY")) != (
                state.key_id,
                state.secret_key,
            ):
                self.send_json(401, {"code": 40110000, "message": "request is not authorized"})
                return
            with state.lock:
                forced = state.fail_next.pop(0) if state.fail_next else None
            if forced is not None:
                self.send_json(forced, {"code": forced * 100000, "message": f"forced status {forced}"})
                return
            name = self.routes.get((method, parts.path))
            if name is None:
                self.send_json(404, {"code": 40410000, "message": "endpoint not found"})
                return
            status, payload = getattr(self, name)(query)
            self.send_json(status, payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and left

    def send_json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"null")

    def get_news(self, query: Query) -> tuple[int, Any]:
        """``GET /v1beta1/news`` as Alpaca documents and answers it.

        Sources: Alpaca's "Historical News" reference
        (https://alpaca.markets/docs/api-references/market-data-api/news-data/historical/) and
        alpaca-py's ``NewsRequest`` docstring. ``sort`` orders by **updated** date, newest first
        unless ``sort=asc``; ``limit`` is 10 by default, 50 at most (anything else is a 400 here);
        ``symbols`` keeps articles naming any of them. ``next_page_token`` is shaped like the
        reference's example, which decodes to ``"1640948923000000000|24843171"``: the ``updated_at``
        (in ns) and id of the last article sent. So a page resumes after that (updated_at, id) key,
        unshifted by articles added meanwhile; it is ``null`` when nothing is left (whether Alpaca
        sends a token with a last full page is not documented; alpaca-py copes either way).

        ``start``/``end`` (RFC 3339, inclusive) are documented only as "the interval": which
        timestamp they bound is not said. The server's ``news_window_field`` picks one:
        ``"created_at"`` (the default, and the harder case for a client that sorts by updated date:
        an article created inside the window can sort after articles created later) or
        ``"updated_at"``.
        """
        items = list(self.server.news)
        field = self.server.news_window_field
        if query.get("symbols"):
            wanted = {s.strip().upper() for s in query["symbols"].split(",")}
            items = [i for i in items if wanted & set(i["symbols"])]
        try:
            if query.get("start"):
                start = _parse_time(query["start"])
                items = [i for i in items if _parse_time(i[field]) >= start]
            if query.get("end"):
                end = _parse_time(query["end"])
                items = [i for i in items if _parse_time(i[field]) <= end]
            limit = int(query.get("limit") or 10)
            after = _decode_news_token(query["page_token"]) if query.get("page_token") else None
        except ValueError as exc:
            return 400, {"code": 40010001, "message": f"invalid query: {exc}"}
        if not 1 <= limit <= 50:
            return 400, {"code": 40010001, "message": "limit must be in 1..50"}
        descending = query.get("sort", "desc").lower() != "asc"
        items.sort(key=_news_key, reverse=descending)
        if after is not None:  # keyset, not offset: stable when articles arrive between pages
            items = [i for i in items if (_news_key(i) < after if descending else _news_key(i) > after)]
        page = items[:limit]
        more = len(items) > limit
        return 200, {"news": page, "next_page_token": _encode_news_token(page[-1]) if more else None}

    def log_message(self, format: str, *args: object) -> None:
        pass


def _parse_time(text: str) -> datetime:
    ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _news_key(item: dict[str, Any]) -> tuple[int, int]:
    """The order Alpaca sorts and pages news by: updated time (ns), then id."""
    updated = _parse_time(item["updated_at"])
    return (int(updated.timestamp()) * 10**9 + updated.microsecond * 1000, int(item["id"]))


def _encode_news_token(item: dict[str, Any]) -> str:
    updated_ns, id = _news_key(item)
    return base64.b64encode(f"{updated_ns}|{id}".encode()).decode()


def _decode_news_token(token: str) -> tuple[int, int]:
    try:
        updated_ns, id = base64.b64decode(token.encode(), validate=True).decode().split("|")
        return int(updated_ns), int(id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"bad page_token {token!r}") from exc


class AlpacaFakeServer(ThreadingHTTPServer):
    """Threaded server on 127.0.0.1:free-port holding the fake's state (see module docstring)."""

    daemon_threads = True

    def __init__(
        self,
        handler: type[AlpacaHandler] = AlpacaHandler,
        *,
        key_id: str = "PKTESTKEY0001",
        secret_key: str = "test-secret-0001",
    ) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.key_id = key_id
        self.secret_key = secret_key
        self.news: list[dict[str, Any]] = []
        self.delay = 0.0
        self.fail_next: list[int] = []
        self.requests: list[tuple[str, str, Query]] = []
        self.news_window_field: WindowField = "created_at"
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> AlpacaFakeServer:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="alpaca-fake", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def handle_error(self, request: object, client_address: object) -> None:
        pass
