"""A local HTTP server for feed tests: 127.0.0.1 on a free port, routes set per test.

    server = FeedServer().start()
    url = server.route("/bbc.xml", body=rss, headers={"Content-Type": "application/rss+xml"}, etag='"v1"')
    ...
    server.stop()

A ``Route`` can answer with any status, headers and body, gzip the body, wait before answering,
drip the body (or the status line and headers) byte by byte, never answer at all (until the server stops), and answer 304 to a
conditional request whose validators match. Every request is recorded (path and headers).
"""

from __future__ import annotations

import gzip
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line
    gzip: bool = False  # send the body gzip-encoded (when the client accepts it)
    etag: str | None = None  # sent as ETag; a matching If-None-Match gets 304
    last_modified: str | None = None  # sent as Last-Modified; an equal If-Modified-Since gets 304
    hang: bool = False  # accept the connection, never answer
    trickle: float = 0.0  # seconds between body bytes
    trickle_head: float = 0.0  # seconds between the bytes of the status line and headers


@dataclass(frozen=True)
class Recorded:
    path: str
    headers: dict[str, str]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        owner = self.server.owner
        owner.requests.append(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}))
        route = owner.routes.get(self.path) or owner.routes.get(self.path.split("?", 1)[0])
        try:
            if route is None:
                self._send(404, b"not found", {"Content-Type": "text/plain"})
            else:
                self._answer(route)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (size cap, timeout): expected in these tests

    def _answer(self, route: Route) -> None:
        if route.hang:
            self.server.owner.stopping.wait(30)
            return
        if route.delay:
            self.server.owner.stopping.wait(route.delay)
        validators = {}
        if route.etag:
            validators["ETag"] = route.etag
        if route.last_modified:
            validators["Last-Modified"] = route.last_modified
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        etag_matches = route.etag is not None and inm == route.etag
        # a route with an ETag is judged by it alone (If-None-Match takes precedence in HTTP)
        date_matches = route.etag is None and route.last_modified is not None and ims == route.last_modified
        if etag_matches or date_matches:
            self._send(304, b"", validators)
            return
        body = route.body
        headers = {**validators, **route.headers}
        if route.gzip and "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        if route.trickle_head:
            self._drip_head(route.status, headers, len(body), route.trickle_head)
            self.wfile.write(body)
            return
        self._send(route.status, body, headers, trickle=route.trickle)

    def _drip_head(self, status: int, headers: dict[str, str], length: int, trickle: float) -> None:
        lines = [
            f"HTTP/1.1 {status} OK",
            *(f"{k}: {v}" for k, v in headers.items()),
            f"Content-Length: {length}",
        ]
        for byte in ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"):
            if self.server.owner.stopping.is_set():
                return
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(trickle)

    def _send(self, status: int, body: bytes, headers: dict[str, str], trickle: float = 0.0) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not trickle:
            self.wfile.write(body)
            return
        for i in range(len(body)):
            if self.server.owner.stopping.is_set():
                return
            self.wfile.write(body[i : i + 1])
            self.wfile.flush()
            time.sleep(trickle)

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FeedServer

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # aborted connections are part of the tests


class FeedServer:
    """Threaded HTTP server on 127.0.0.1 with per-test routes (see module docstring)."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Recorded] = []
        self.stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FeedServer:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="feed-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # release hanging and slow routes
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, body: bytes | str = b"", **options: object) -> str:
        """Serve ``body`` (and ``Route`` options) at ``path``; returns the full URL."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.routes[path] = Route(body=body, **options)  # type: ignore[arg-type]
        return self.url(path)

    def hits(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]
