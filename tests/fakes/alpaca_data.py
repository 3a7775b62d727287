"""Alpaca's market-data bars API, served locally for the real alpaca-py client.

Routes (on top of ``AlpacaHandler``'s news route, key check, ``fail_next`` and ``delay``):

- ``GET /v2/stocks/bars``: params ``symbols`` (comma list), ``timeframe`` (``1Day``, ``15Min``...),
  ``start``/``end`` (RFC 3339, inclusive), ``limit``, ``page_token``, ``feed``, ``adjustment``.
  Like Alpaca, a page holds at most ``min(limit, server.page_size)`` bars counted across symbols,
  ordered by symbol then time, and ``next_page_token`` resumes after the last bar sent; a symbol
  with no bar in the span is absent from ``"bars"``.
- ``GET /v2/stocks/bars/latest``: the last ``1Min`` bar of each symbol that has one.

A free market-data plan (``free_plan``, the default: the stricter reading) may not ask the SIP
feed for the last 15 minutes: ``feed=sip`` with an ``end`` missing or within 15 minutes of now ->
403 ``subscription does not permit querying recent SIP data`` (Alpaca docs, "Market data: feeds";
the message as users report it).

Bars are loaded per (symbol, timeframe) from a bars frame with ``load(symbol, timeframe, frame)``;
they are served exactly as given (no resampling). ``requests`` records every call.
"""

from __future__ import annotations

import base64
from typing import Any

import pandas as pd

from fakes.alpaca_news_server import AlpacaFakeServer, AlpacaHandler, Query, _parse_time

ALPACA_MAX_LIMIT = 10_000


def alpaca_bar(ts: pd.Timestamp, row: Any) -> dict[str, Any]:
    """One bar as Alpaca sends it (``t`` in UTC with a ``Z``)."""
    return {
        "t": ts.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ"),
        "o": float(row.open),
        "h": float(row.high),
        "l": float(row.low),
        "c": float(row.close),
        "v": float(row.volume),
        "n": 100,
        "vw": round((float(row.high) + float(row.low)) / 2, 4),
    }


class DataHandler(AlpacaHandler):
    """Bars routes (see module docstring)."""

    routes = {
        **AlpacaHandler.routes,
        ("GET", "/v2/stocks/bars"): "get_bars",
        ("GET", "/v2/stocks/bars/latest"): "get_latest_bars",
    }
    server: DataFakeServer

    def get_bars(self, query: Query) -> tuple[int, Any]:
        symbols = [s.strip().upper() for s in query.get("symbols", "").split(",") if s.strip()]
        timeframe = query.get("timeframe", "")
        if not symbols or not timeframe:
            return 400, {"code": 42210000, "message": "symbols and timeframe are required"}
        try:
            start = _parse_time(query["start"]) if query.get("start") else None
            end = _parse_time(query["end"]) if query.get("end") else None
            limit = int(query.get("limit") or 1000)
            offset = _decode(query["page_token"]) if query.get("page_token") else 0
        except (ValueError, KeyError) as exc:
            return 400, {"code": 42210000, "message": f"invalid query: {exc}"}
        if not 1 <= limit <= ALPACA_MAX_LIMIT:
            return 422, {"code": 42210000, "message": "invalid limit"}
        if self.server.free_plan and query.get("feed") == "sip":
            recent = pd.Timestamp.now(tz="UTC") - pd.Timedelta(minutes=15)
            if end is None or end > recent:
                return 403, {"message": "subscription does not permit querying recent SIP data"}
        every = [
            (symbol, bar)
            for symbol in sorted(set(symbols))
            for bar in self.server.series(symbol, timeframe)
            if (start is None or _parse_time(bar["t"]) >= start)
            and (end is None or _parse_time(bar["t"]) <= end)
        ]
        size = min(limit, self.server.page_size)
        page = every[offset : offset + size]
        bars: dict[str, list[dict[str, Any]]] = {}
        for symbol, bar in page:
            bars.setdefault(symbol, []).append(bar)
        more = offset + size < len(every)
        return 200, {"bars": bars, "next_page_token": _encode(offset + size) if more else None}

    def get_latest_bars(self, query: Query) -> tuple[int, Any]:
        symbols = [s.strip().upper() for s in query.get("symbols", "").split(",") if s.strip()]
        if not symbols:
            return 400, {"code": 42210000, "message": "symbols is required"}
        latest = {s: self.server.series(s, "1Min")[-1] for s in symbols if self.server.series(s, "1Min")}
        return 200, {"bars": latest}


class DataFakeServer(AlpacaFakeServer):
    """The fake with bars state: ``load`` frames, ``page_size`` caps a page (Alpaca: 10,000)."""

    def __init__(self, handler: type[AlpacaHandler] = DataHandler, **keys: str) -> None:
        super().__init__(handler, **keys)
        self.page_size = ALPACA_MAX_LIMIT
        self.free_plan = True
        self._bars: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def load(self, symbol: str, timeframe: str, frame: pd.DataFrame) -> None:
        """Serve ``frame`` (a bars frame: UTC index of bar starts) as ``symbol``'s ``timeframe`` bars."""
        self._bars[(symbol.upper(), timeframe)] = [
            alpaca_bar(ts, row) for ts, row in zip(frame.index, frame.itertuples())
        ]

    def series(self, symbol: str, timeframe: str) -> list[dict[str, Any]]:
        return self._bars.get((symbol, timeframe), [])

    def bar_requests(self) -> list[dict[str, str]]:
        """The queries of every ``/v2/stocks/bars`` request so far."""
        return [q for _, path, q in self.requests if path == "/v2/stocks/bars"]


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()  # opaque, like Alpaca's


def _decode(token: str) -> int:
    text = base64.urlsafe_b64decode(token.encode()).decode()
    if not text.startswith("offset:"):
        raise ValueError(f"bad page_token {token!r}")
    return int(text[7:])


def with_one_minute(trading: Any, symbol: str, price: float) -> DataFakeServer:
    """A data server beside ``trading`` (same keys) serving one flat 1Min bar of ``symbol`` at
    ``price``, which is also ``trading``'s last trade; ``trading.data_url`` points at it. The
    caller stops it."""
    data = DataFakeServer(key_id=trading.key_id, secret_key=trading.secret_key).start()
    bar = {column: [price] for column in ("open", "high", "low", "close")}
    index = pd.DatetimeIndex([pd.Timestamp("2024-03-04 15:00", tz="UTC")], name="ts")
    data.load(symbol, "1Min", pd.DataFrame({**bar, "volume": [1e4]}, index=index))
    trading.data_url = data.url
    trading.set_price(symbol, price)
    return data
