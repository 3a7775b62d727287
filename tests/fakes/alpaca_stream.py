"""Alpaca's two websockets, served locally for the real alpaca-py stream clients.

One server (``websockets.sync``) on 127.0.0.1:free-port answers both paths:

- ``/v2/{feed}`` - market data (``StockDataStream``), msgpack frames, as alpaca-py always speaks
  to data streams: ``[{"T": "success", "msg": "connected"}]`` on connect; ``{"action": "auth"}``
  -> ``authenticated`` (or ``[{"T": "error", "code": 402, "msg": "auth failed"}]`` and a close);
  ``{"action": "subscribe", "bars": [...]}`` -> a ``subscription`` message; then bar messages
  ``{"T": "b", "S", "o", "h", "l", "c", "v", "n", "vw", "t"}`` with ``t`` a msgpack Timestamp.
  One connection per endpoint: a second connection to the same ``/v2/{feed}`` that authenticates
  while one is open gets ``[{"T": "error", "code": 406, "msg": "connection limit exceeded"}]``
  instead of ``authenticated`` and a close; the first keeps streaming (Alpaca's "Connection
  limit" note and "Errors" table, https://docs.alpaca.markets/docs/streaming-market-data: the
  limit is 1 on most plans, and 406 means "You already have an ongoing authenticated session").
  The slot is free as soon as the holder's socket closes (alpaca-py's comments say Alpaca can be
  slow to release a dropped session: not modelled). On by default; a test that means to open
  two sets ``one_data_connection = False``.
- ``/stream`` - trading (``TradingStream``), JSON: ``{"action": "authenticate"}`` ->
  ``{"stream": "authorization", "data": {"status": "authorized"}}`` (``unauthorized`` and a close
  for bad keys); ``{"action": "listen"}`` -> ``listening``; then ``trade_updates`` events.

Test controls: ``push_bar``, ``push_trade_update``, ``drop`` (close every connection; the
clients reconnect by themselves), ``wait_for`` (subscribed / listening), and silence is simply
not pushing; ``data_session`` is a bare client holding the data endpoint, as another process
with the same keys would. ``connections`` counts the handshakes per path; ``auth_failures`` the
refusals for bad keys, ``limit_refusals`` the 406 ones.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import msgpack
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.sync.server import Server, ServerConnection, serve


class StreamFakeServer:
    def __init__(self, *, key_id: str = "PKTESTKEY0001", secret_key: str = "test-secret-0001") -> None:
        self.key_id = key_id
        self.secret_key = secret_key
        self.connections: dict[str, int] = {}
        self.auth_failures = 0
        self.limit_refusals = 0
        #: Alpaca's one authenticated session per data endpoint (see the module docstring)
        self.one_data_connection = True
        self._data: dict[ServerConnection, set[str]] = {}  # authenticated data clients -> bar symbols
        self._trading: set[ServerConnection] = set()  # listening trading clients
        self._lock = threading.Lock()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:PORT`` - ``alpaca.stream_url``; the data path is ``/v2/{feed}``."""
        assert self._server is not None
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}"

    def start(self) -> StreamFakeServer:
        # no server pings: alpaca-py's client pings, and a test must not depend on timing
        server = self._server = serve(
            self._handle, "127.0.0.1", 0, ping_interval=None, compression=None, close_timeout=1
        )
        self._thread = threading.Thread(target=server.serve_forever, name="alpaca-stream-fake", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.drop()
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # ---- test controls -------------------------------------------------------------------------

    def push_bar(
        self,
        symbol: str,
        start: datetime,
        open_: float,
        high: float,
        low: float,
        close: float,
        volume: float = 1000.0,
    ) -> int:
        """Send a minute bar to every client subscribed to ``symbol``; returns how many got it."""
        stamp = msgpack.Timestamp.from_datetime(start.astimezone(UTC))  # Alpaca's wire type for ``t``
        bar = {
            "T": "b",
            "S": symbol,
            "o": open_,
            "h": high,
            "l": low,
            "c": close,
            "v": volume,
            "n": 10,
            "vw": round((high + low) / 2, 4),
            "t": stamp,
        }
        frame = msgpack.packb([bar], datetime=True)
        with self._lock:
            clients = [c for c, symbols in self._data.items() if symbol in symbols or "*" in symbols]
        return sum(self._send(c, frame) for c in clients)

    def push_trade_update(
        self, event: str, order: dict[str, Any], *, price: float | None = None, qty: float | None = None
    ) -> int:
        """Send a ``trade_updates`` event about ``order`` (an Alpaca order JSON) to every listener."""
        data: dict[str, Any] = {"event": event, "order": order, "timestamp": datetime.now(UTC).isoformat()}
        if event in ("fill", "partial_fill"):
            data.update(execution_id=str(uuid.uuid4()), price=str(price), qty=str(qty), position_qty=str(qty))
        text = json.dumps({"stream": "trade_updates", "data": data})
        with self._lock:
            clients = list(self._trading)
        return sum(self._send(c, text) for c in clients)

    def drop(self) -> None:
        """Close every open connection (the clients see a dropped stream and reconnect)."""
        with self._lock:
            clients = list(self._data) + list(self._trading)
            self._data.clear()
            self._trading.clear()
        for client in clients:
            client.close(1011, "dropped by test")

    def subscribed(self, symbol: str) -> bool:
        with self._lock:
            return any(symbol in s for s in self._data.values())

    def listening(self) -> bool:
        with self._lock:
            return bool(self._trading)

    @staticmethod
    def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    # ---- protocol ------------------------------------------------------------------------------

    def _send(self, client: ServerConnection, message: bytes | str) -> bool:
        try:
            client.send(message)
            return True
        except ConnectionClosed:
            return False

    def _handle(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request else ""
        with self._lock:
            self.connections[path] = self.connections.get(path, 0) + 1
        try:
            if path == "/stream":
                self._trading_session(ws)
            elif path.startswith("/v2/"):
                self._data_session(ws, path)
            else:
                ws.close(1008, "unknown path")
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._data.pop(ws, None)
                self._trading.discard(ws)

    def _data_session(self, ws: ServerConnection, path: str) -> None:
        ws.send(msgpack.packb([{"T": "success", "msg": "connected"}]))
        auth = msgpack.unpackb(ws.recv())
        if (auth.get("action"), auth.get("key"), auth.get("secret")) != (
            "auth",
            self.key_id,
            self.secret_key,
        ):
            with self._lock:
                self.auth_failures += 1
            ws.send(msgpack.packb([{"T": "error", "code": 402, "msg": "auth failed"}]))
            ws.close(1008, "auth failed")
            return
        with self._lock:  # check and claim in one step: of two clients authenticating at once, one wins
            held = any(c.request is not None and c.request.path == path for c in self._data)
            refused = self.one_data_connection and held
            if refused:
                self.limit_refusals += 1
            else:
                self._data[ws] = set()
        if refused:
            ws.send(msgpack.packb([{"T": "error", "code": 406, "msg": "connection limit exceeded"}]))
            ws.close(1008, "connection limit exceeded")
            return
        ws.send(msgpack.packb([{"T": "success", "msg": "authenticated"}]))
        while True:
            msg = msgpack.unpackb(ws.recv())
            if msg.get("action") == "subscribe":
                with self._lock:
                    symbols = self._data.setdefault(ws, set())
                    symbols.update(msg.get("bars", []))
                    bars = sorted(symbols)
                ws.send(msgpack.packb([{"T": "subscription", "trades": [], "quotes": [], "bars": bars}]))

    def _trading_session(self, ws: ServerConnection) -> None:
        auth = json.loads(ws.recv())
        data = auth.get("data") or {}
        ok = (auth.get("action"), data.get("key_id"), data.get("secret_key")) == (
            "authenticate",
            self.key_id,
            self.secret_key,
        )
        status = "authorized" if ok else "unauthorized"
        ws.send(json.dumps({"stream": "authorization", "data": {"status": status, "action": "authenticate"}}))
        if not ok:
            with self._lock:
                self.auth_failures += 1
            ws.close(1008, "unauthorized")
            return
        while True:
            msg = json.loads(ws.recv())
            if msg.get("action") == "listen":
                streams = (msg.get("data") or {}).get("streams", [])
                ws.send(json.dumps({"stream": "listening", "data": {"streams": streams}}))
                if "trade_updates" in streams:
                    with self._lock:
                        self._trading.add(ws)


@contextmanager
def data_session(
    server: StreamFakeServer, *, feed: str = "iex", bars: tuple[str, ...] = ()
) -> Iterator[ClientConnection]:
    """An authenticated data connection to ``server`` (subscribed to ``bars``, if any), held as
    another process using the same keys would hold it; closed on leaving (or earlier by ``close()``)."""
    with connect(f"{server.url}/v2/{feed}", compression=None, close_timeout=1) as ws:
        ws.recv()  # connected
        ws.send(msgpack.packb({"action": "auth", "key": server.key_id, "secret": server.secret_key}))
        reply = msgpack.unpackb(ws.recv())
        if reply[0].get("msg") != "authenticated":
            raise RuntimeError(f"data_session refused: {reply}")
        if bars:
            ws.send(msgpack.packb({"action": "subscribe", "bars": list(bars)}))
            ws.recv()  # subscription
        yield ws
