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
answers resume) and ``requests`` (method, path, query) for assertions.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Query = dict[str, str]


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
                state.key_id, state.secret_key,
            ):  # fmt: skip
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
        """Filters like Alpaca: symbols (any of), start/end (RFC 3339, inclusive), sort, limit, page_token."""
        items = list(self.server.news)
        if query.get("symbols"):
            wanted = {s.strip().upper() for s in query["symbols"].split(",")}
            items = [i for i in items if wanted & set(i["symbols"])]
        try:
            if query.get("start"):
                start = _parse_time(query["start"])
                items = [i for i in items if _parse_time(i["created_at"]) >= start]
            if query.get("end"):
                end = _parse_time(query["end"])
                items = [i for i in items if _parse_time(i["created_at"]) <= end]
            limit = int(query.get("limit") or 10)
            offset = int(query.get("page_token") or 0)
        except ValueError as exc:
            return 400, {"code": 40010001, "message": f"invalid query: {exc}"}
        if not 1 <= limit <= 50:
            return 400, {"code": 40010001, "message": "limit must be in 1..50"}
        items.sort(key=lambda i: (i["created_at"], i["id"]), reverse=query.get("sort", "desc") != "asc")
        page = items[offset : offset + limit]
        more = offset + limit < len(items)
        return 200, {"news": page, "next_page_token": str(offset + limit) if more else None}

    def log_message(self, format: str, *args: object) -> None:
        pass


def _parse_time(text: str) -> datetime:
    ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


class AlpacaFakeServer(ThreadingHTTPServer):
    """Threaded server on 127.0.0.1:free-port holding the fake's state (see module docstring)."""

    daemon_threads = True

    def __init__(self, handler: type[AlpacaHandler] = AlpacaHandler, *, key_id: str = "PKTESTKEY0001",
                 secret_key: str = "test-secret-0001") -> None:  # fmt: skip
        super().__init__(("127.0.0.1", 0), handler)
        self.key_id = key_id
        self.secret_key = secret_key
        self.news: list[dict[str, Any]] = []
        self.delay = 0.0
        self.fail_next: list[int] = []
        self.requests: list[tuple[str, str, Query]] = []
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
