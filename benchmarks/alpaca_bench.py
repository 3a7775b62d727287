"""Alpaca layer benchmarks (not tests), against the local Alpaca-compatible fakes on 127.0.0.1:
submit -> fill recorded round trip (p50/p99) with the real alpaca-py client, and the HTTP requests
one decision cycle for 10 symbols makes (Alpaca allows 200 per minute).

Run: ``.venv/bin/python benchmarks/alpaca_bench.py``. Writes benchmarks/alpaca_results.md.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from bot.broker.base import OrderRequest, OrderStatus, Side  # noqa: E402
from bot.calendar.timeframes import parse_timeframe  # noqa: E402
from bot.logging import configure_logging  # noqa: E402

from fakes.alpaca_data import DataFakeServer  # noqa: E402
from fakes.alpaca_trading import TradingFakeServer, alpaca_broker  # noqa: E402

SYMBOLS = [f"S{i:02d}" for i in range(10)]


def round_trip(broker, server, n: int = 200) -> list[float]:
    """Seconds from submit to the broker reporting the order filled (status polling)."""
    for symbol in SYMBOLS:
        server.set_price(symbol, 50.0)
    timings = []
    for i in range(n):
        started = time.perf_counter()
        order = broker.submit(OrderRequest(f"bench-{i}", SYMBOLS[i % 10], Side.BUY, 1))
        while order.status is not OrderStatus.FILLED:
            order = broker.get_order(order.client_order_id)
        timings.append(time.perf_counter() - started)
    return timings


def requests_per_cycle(broker, trading, data) -> dict[str, int]:
    """One live decision cycle: latest bars for 10 symbols, account, positions, open orders, and
    (on a cycle that trades) one order per symbol."""
    from bot.config import Config, override
    from bot.data.alpaca_feed import AlpacaFeed

    config = override(Config(), "alpaca", "bench", data_url=data.url)
    feed = AlpacaFeed.from_config(config, secrets=_secrets(data))
    before_t, before_d = len(trading.requests), len(data.requests)
    feed.latest(SYMBOLS, parse_timeframe("1Min"))
    broker.account()
    broker.positions()
    broker.open_orders()
    quiet = (len(trading.requests) - before_t) + (len(data.requests) - before_d)
    before_t = len(trading.requests)
    for symbol in SYMBOLS:
        broker.submit(OrderRequest(f"cycle-{symbol}", symbol, Side.BUY, 1))
    return {"quiet": quiet, "trading": quiet + len(trading.requests) - before_t}


def _secrets(server):
    from bot.config import Secrets

    return Secrets(alpaca_key=server.key_id, alpaca_secret=server.secret_key)


def main() -> None:
    configure_logging(None, level="error", console=False)
    trading = TradingFakeServer(cash=10_000_000.0).start()
    data = DataFakeServer().start()
    index = pd.date_range(datetime(2024, 6, 3, 13, 30, tzinfo=UTC), periods=30, freq="1min", name="ts")
    for symbol in SYMBOLS:
        data.load(
            symbol,
            "1Min",
            pd.DataFrame(
                {"open": 50.0, "high": 50.5, "low": 49.5, "close": 50.0, "volume": 1000.0}, index=index
            ),
        )
    try:
        broker = alpaca_broker(trading, timeout_seconds=5.0)
        timings = round_trip(broker, trading)
        cycle = requests_per_cycle(broker, trading, data)
    finally:
        trading.stop()
        data.stop()
    p50, p99 = (float(np.percentile(timings, q) * 1000) for q in (50, 99))
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        "local fakes on 127.0.0.1, real alpaca-py client.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| submit -> fill recorded, {len(timings)} market orders | p50 {p50:.2f} ms, p99 {p99:.2f} ms "
        f"(mean {statistics.mean(timings) * 1000:.2f} ms) |",
        f"| HTTP requests, one decision cycle for 10 symbols, no trade | {cycle['quiet']} |",
        f"| HTTP requests, one decision cycle for 10 symbols, 10 orders | {cycle['trading']} |",
        f"| headroom at one cycle per minute (Alpaca: 200 requests/minute) | {200 - cycle['trading']} requests "
        f"({200 / cycle['trading']:.0f}x) when every symbol trades |",
    ]
    text = "\n".join(lines)
    print(text)
    (REPO / "benchmarks" / "alpaca_results.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
