"""The paper daemon's live loop in-process, with the real alpaca-py clients against the local
Alpaca-compatible servers: bars read from the data server (warm-up, polling, a gap backfilled),
orders sent to the trading server exactly once, fills journaled from order polling, a decision
only on the newest bar of a batch, and repeated broker failures tripping the kill switch."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bot.config import Secrets, load_config
from bot.daemon.assemble import assemble
from bot.data import alpaca_feed
from bot.journal.store import Journal
from risk.killswitch import KillSwitch

from daemonkit import KEY, SECRET
from fakes.alpaca_data import DataFakeServer
from fakes.alpaca_trading import TradingFakeServer
from testkit import wait_for, write_config

SYMBOLS = ("AAA", "BBB")


def _recent_session_start() -> pd.Timestamp:
    """10:00 New York (15:00 UTC) on the latest weekday at least 2 hours ago: inside the data
    API's regular session and inside the warm-up's look-back from the real clock."""
    t = pd.Timestamp(datetime.now(UTC)).floor("D") + pd.Timedelta(hours=15)
    while t > pd.Timestamp(datetime.now(UTC)) - pd.Timedelta(hours=2) or t.weekday() >= 5:
        t -= pd.Timedelta(days=1)
    return t


START = _recent_session_start()


@pytest.fixture(autouse=True)
def nothing_settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests serve more minutes of START's session as they go, a past the feed's journal
    cache holds as settled once it is a day old (START is the previous weekday's session when the
    suite runs before 17:00 UTC): the backfill would then read the warm-up's 30 bars from the
    cache. Real Alpaca adds no bars to a settled past; here nothing is settled, at any hour."""
    monkeypatch.setattr(alpaca_feed, "_UNSETTLED", pd.Timedelta(days=36_500))


def bars(n: int) -> pd.DataFrame:
    index = pd.date_range(START, periods=n, freq="1min", tz="UTC", name="ts")
    close = 20 + np.arange(n) * 0.01
    return pd.DataFrame(
        {
            "open": close,
            "high": close + 0.05,
            "low": close - 0.05,
            "close": close,
            "volume": np.full(n, 1000.0),
        },
        index=index,
    )


def serve(data: DataFakeServer, n: int) -> datetime:
    """Serve the first ``n`` minutes; returns the close of the last one (the "now" that sees it)."""
    for symbol in SYMBOLS:
        data.load(symbol, "1Min", bars(n))
    return (START + pd.Timedelta(minutes=n)).to_pydatetime()


@pytest.fixture
def live(tmp_path: Path):
    trading = TradingFakeServer(key_id=KEY, secret_key=SECRET).start()
    data = DataFakeServer(key_id=KEY, secret_key=SECRET).start()
    for symbol in SYMBOLS:
        trading.set_price(symbol, 20.0)
    serve(data, 30)
    config = load_config(
        write_config(
            tmp_path,
            f"""
[data]
symbols = ["AAA", "BBB"]
timeframe = "1Min"
[strategy]
name = "buy_and_hold"
[daemon]
max_broker_failures = 3
[alpaca]
trading_url = "{trading.url}"
data_url = "{data.url}"
timeout_seconds = 1.0
max_retries = 0
backoff_seconds = 0.01
""",
        )
    )
    journal = Journal(tmp_path / "journal.sqlite")
    alerts: list[str] = []
    parts = assemble(
        config,
        journal,
        dry_run=False,
        replay_source=None,
        speed=1,
        new_run=False,
        secrets=Secrets(alpaca_key=KEY, alpaca_secret=SECRET),
        alert=lambda subject, text: alerts.append(subject),
    )
    yield parts, journal, trading, data, alerts
    journal.close()
    trading.stop()
    data.stop()


def test_the_live_loop_reads_bars_from_the_server_and_trades_once_per_decision(live):
    parts, journal, trading, data, _ = live
    loop = parts.loop
    assert loop.window.view().count("AAA") == 30  # warm-up from the data server's history
    assert parts.live.poll(datetime.now(UTC)) == []  # nothing new yet

    now = serve(data, 31)
    steps = parts.live.poll(now)
    assert len(steps) == 1 and set(steps[0][1]) == set(SYMBOLS)
    loop.on_steps(steps)
    decision = now.strftime("%Y%m%dT%H%M%SZ")
    for symbol in SYMBOLS:
        assert len(trading.orders_with_client_id(f"buy_and_hold-{symbol}-{decision}")) == 1

    # the fake fills a market order just after answering its POST, on its own thread
    wait_for(  # (legs stay open)
        lambda: all(o["status"] == "filled" for o in trading.orders if not o["_parent"]),
        5,
        "the fake to fill the orders",
        every=0.01,
    )

    # three bars arrive at once after a missed poll: the gap is backfilled from history, the
    # window sees all three, and only the newest is decided on
    decided: list[datetime] = []
    decide = loop.engine.decide
    loop.engine.decide = lambda t, view: (decided.append(t), decide(t, view))[1]  # observe, then run
    now = serve(data, 34)
    steps = parts.live.poll(now)
    assert len(steps) == 3
    loop.on_steps(steps)
    assert loop.window.view().count("AAA") == 34
    assert decided == [now]
    assert journal.count("equity") == 4  # every step's equity is recorded all the same
    # the fills Alpaca made were journaled from order polling; nothing was sent twice
    rows = journal.query("SELECT client_order_id, status, filled_qty FROM orders ORDER BY 1")
    assert [r["status"] for r in rows] == ["filled", "filled"]
    assert journal.count("fills") == 2
    assert all(len(trading.orders_with_client_id(r["client_order_id"])) == 1 for r in rows)
    assert len(trading.posts) == 2


def test_repeated_broker_failures_trip_the_kill_switch_and_alert(live):
    parts, journal, trading, data, alerts = live
    trading.inject("GET", "/v2/account", 500, times=50)
    parts.loop.on_steps(parts.live.poll(serve(data, 31)))  # the decision and the equity snapshot fail
    assert not KillSwitch(journal).halted and parts.loop.broker_failures == 2
    parts.loop.on_steps(parts.live.poll(serve(data, 32)))  # the third failure in a row trips it
    state = KillSwitch(journal).state()
    assert state.halted and "broker calls failed in a row" in state.reason and state.by == "daemon"
    assert alerts and alerts[0].startswith("trading HALTED")
    assert trading.posts == []  # nothing was sent while the broker was failing
