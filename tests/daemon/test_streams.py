"""The optional Alpaca websockets in the paper daemon's live loop, in-process, with the real alpaca-py
stream clients against ``fakes.alpaca_stream`` and the REST fakes of ``test_live_loop``:
``alpaca.stream_bars`` (bars from the stream while it is healthy, REST while it is silent,
dropped or refused, de-duplicated either way) and ``alpaca.trade_updates`` (a fill journaled once
whether the stream or order polling sees it first)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from structlog.testing import capture_logs
from test_live_loop import START, SYMBOLS, bars, nothing_settled, serve  # noqa: F401 (autouse fixture)

from bot.broker.trade_updates import TradeUpdates, trade_stream_url
from bot.config import Secrets, load_config
from bot.daemon.assemble import Parts, assemble
from bot.daemon.runner import _close_streams
from bot.journal.store import Journal

from daemonkit import KEY, SECRET
from fakes.alpaca_data import DataFakeServer
from fakes.alpaca_stream import StreamFakeServer, data_session
from fakes.alpaca_trading import TradingFakeServer
from testkit import write_config

wait_for = StreamFakeServer.wait_for


class Live:
    """The assembled parts and every fake; ``build`` may be called once per test."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.trading = TradingFakeServer(key_id=KEY, secret_key=SECRET).start()
        self.data = DataFakeServer(key_id=KEY, secret_key=SECRET).start()
        self.stream = StreamFakeServer(key_id=KEY, secret_key=SECRET).start()
        for symbol in SYMBOLS:
            self.trading.set_price(symbol, 20.0)
        serve(self.data, 30)
        self.journal = Journal(tmp_path / "journal.sqlite")
        self.parts: Parts | None = None

    def config_path(
        self,
        alpaca: str = "",
        *,
        stream_url: str | None = None,
        timeout_seconds: float = 1.0,
        max_retries: int = 0,
    ) -> Path:
        """A config on every fake; ``alpaca`` adds [alpaca] keys."""
        return write_config(
            self.tmp_path,
            f"""
[data]
symbols = ["AAA", "BBB"]
timeframe = "1Min"
[strategy]
name = "buy_and_hold"
[alpaca]
trading_url = "{self.trading.url}"
data_url = "{self.data.url}"
stream_url = "{stream_url or self.stream.url}"
timeout_seconds = {timeout_seconds}
max_retries = {max_retries}
backoff_seconds = 0.01
{alpaca}
""",
        )

    def build(self, alpaca: str = "", *, stream_url: str | None = None) -> Parts:
        config = load_config(self.config_path(alpaca, stream_url=stream_url))
        self.parts = assemble(
            config,
            self.journal,
            dry_run=False,
            replay_source=None,
            speed=1,
            new_run=False,
            secrets=Secrets(alpaca_key=KEY, alpaca_secret=SECRET),
            alert=lambda subject, text: None,
        )
        return self.parts

    def push_minute(self, n: int) -> None:
        """Push minute ``n`` of the test series (the same bar REST serves) for every symbol."""
        row = bars(n + 1).iloc[n]
        for symbol in SYMBOLS:
            start = START + pd.Timedelta(minutes=n)
            self.stream.push_bar(symbol, start, row.open, row.high, row.low, row.close)

    def latest_requests(self) -> int:
        return sum(1 for _, path, _ in self.data.requests if path == "/v2/stocks/bars/latest")

    def close(self) -> None:
        if self.parts is not None:
            started = time.monotonic()
            _close_streams(self.parts)  # the runner's shutdown step
            assert time.monotonic() - started < 2, "the stream threads did not stop promptly"
        self.journal.close()
        for server in (self.trading, self.data, self.stream):
            server.stop()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    fakes = Live(tmp_path)
    yield fakes
    fakes.close()


def close_of(n: int) -> datetime:
    """The close of minute ``n`` (the earliest "now" that may see it)."""
    return (START + pd.Timedelta(minutes=n + 1)).to_pydatetime()


def starts(steps: list) -> list[pd.Timestamp]:
    return [pd.Timestamp(start) for start, _ in steps]


def test_keys_off_change_nothing(live):
    parts = live.build()
    assert parts.live.stream is None and parts.loop.venue.updates is None and parts.closers == []


def test_stream_bars_reach_live_bars_closed_only_and_deduplicated_against_rest(live):
    parts = live.build("stream_bars = true")
    stream = parts.live.stream
    assert stream in parts.closers and parts.loop.window.view().count("AAA") == 30  # warm-up from REST
    assert wait_for(lambda: live.stream.subscribed("AAA") and live.stream.subscribed("BBB"))
    live.push_minute(29)  # already seen by the warm-up
    live.push_minute(30)
    live.push_minute(31)  # not closed yet at the close of minute 30
    assert wait_for(lambda: stream.received == 6)
    before = live.latest_requests()
    with capture_logs() as logs:
        steps = parts.live.poll(close_of(30))
    assert starts(steps) == [START + pd.Timedelta(minutes=30)] and set(steps[0][1]) == set(SYMBOLS)
    assert parts.live.source == "stream" and live.latest_requests() == before  # no REST poll
    assert [e["event"] for e in logs if e["event"].startswith("bars_stream")] == ["bars_stream_recovered"]
    parts.loop.on_steps(steps)
    assert parts.loop.window.view().count("AAA") == 31
    assert starts(parts.live.poll(close_of(31))) == [START + pd.Timedelta(minutes=31)]  # kept until closed
    assert parts.live.poll(close_of(31)) == []


def test_the_stream_hands_out_regular_session_bars_only(live):
    stream = live.build("stream_bars = true").live.stream
    assert wait_for(lambda: live.stream.subscribed("AAA"))
    live.stream.push_bar("AAA", START - pd.Timedelta(hours=2), 1, 1, 1, 1)  # pre-market, New York
    live.push_minute(30)
    assert wait_for(lambda: stream.received == 3)
    frames = stream.take(close_of(30))
    assert list(frames["AAA"].index) == [START + pd.Timedelta(minutes=30)] and stream.take(close_of(40)) == {}


def test_a_silent_stream_falls_back_to_rest_and_recovers_when_it_speaks(live):
    parts = live.build("stream_bars = true")
    stream = parts.live.stream
    stream.stale_seconds = 0.3  # two bar periods, shrunk for the test
    assert wait_for(lambda: live.stream.subscribed("BBB"))
    live.push_minute(30)
    assert wait_for(lambda: stream.received == 2)
    assert starts(parts.live.poll(close_of(30))) == [START + pd.Timedelta(minutes=30)]
    assert parts.live.source == "stream"

    assert wait_for(lambda: not stream.healthy(), timeout=2)  # silence, connection still open
    assert stream.connected
    serve(live.data, 32)
    before = live.latest_requests()
    with capture_logs() as logs:
        steps = parts.live.poll(close_of(31))
    assert starts(steps) == [START + pd.Timedelta(minutes=31)] and live.latest_requests() == before + 1
    stale = [e for e in logs if e["event"] == "bars_stream_stale"]
    assert parts.live.source == "rest" and stale and stale[0]["reason"] == "silent"

    live.push_minute(31)  # REST already gave it: not handed out twice
    live.push_minute(32)
    assert wait_for(lambda: stream.received == 6)
    with capture_logs() as logs:
        steps = parts.live.poll(close_of(32))
    assert starts(steps) == [START + pd.Timedelta(minutes=32)] and parts.live.source == "stream"
    assert any(e["event"] == "bars_stream_recovered" for e in logs)


def test_a_dropped_stream_falls_back_at_once_and_reconnects(live):
    parts = live.build("stream_bars = true")
    stream = parts.live.stream
    assert wait_for(lambda: live.stream.subscribed("AAA"))
    live.push_minute(30)
    assert wait_for(lambda: stream.received == 2)
    parts.live.poll(close_of(30))
    live.stream.drop()
    assert wait_for(lambda: not stream.connected)
    serve(live.data, 32)
    with capture_logs() as logs:
        steps = parts.live.poll(close_of(31))  # REST, although the last bar is seconds old
    assert starts(steps) == [START + pd.Timedelta(minutes=31)]
    assert [e["reason"] for e in logs if e["event"] == "bars_stream_stale"] == ["disconnected"]
    # alpaca-py reconnects by itself (after about a second); a missed minute is backfilled
    assert wait_for(lambda: live.stream.subscribed("AAA") and stream.connected, timeout=10)
    serve(live.data, 34)
    live.push_minute(33)
    assert wait_for(lambda: stream.received == 4)
    steps = parts.live.poll(close_of(33))
    assert parts.live.source == "stream"
    assert starts(steps) == [START + pd.Timedelta(minutes=32), START + pd.Timedelta(minutes=33)]


@pytest.mark.parametrize("fault", ["bad keys", "unreachable"])
def test_a_refused_or_unreachable_stream_leaves_the_daemon_on_rest(live, fault, caplog):
    if fault == "bad keys":
        live.stream.secret_key = "not-the-secret"
        url = live.stream.url
    else:
        url = "ws://127.0.0.1:9"  # discard port: connection refused
    parts = live.build("stream_bars = true\ntrade_updates = true", stream_url=url)
    if fault == "bad keys":
        assert wait_for(lambda: live.stream.auth_failures >= 1)
    # alpaca-py logs each failed attempt (then retries with backoff, on its own thread)
    assert wait_for(lambda: any(r.name.startswith("alpaca.") and r.levelno >= 40 for r in caplog.records))
    steps = parts.live.poll(serve(live.data, 31))
    assert starts(steps) == [START + pd.Timedelta(minutes=30)] and parts.live.source == "rest"
    parts.loop.on_steps(steps)  # the step (and its trade-updates drain) goes on
    assert len(live.trading.posts) == 2 and parts.loop.broker_failures == 0
    # the trade-updates stream follows trading_url: the REST fake refuses the handshake
    assert len(parts.closers) == 2 and not parts.loop.venue.updates.connected


def test_a_stream_held_by_another_process_leaves_the_daemon_on_rest(live):
    with data_session(live.stream), capture_logs() as logs:  # another process with the same keys
        parts = live.build("stream_bars = true")
        assert wait_for(lambda: live.stream.limit_refusals == 1 and parts.live.stream.connection_limited)
        before = live.latest_requests()
        steps = parts.live.poll(serve(live.data, 31))
    assert starts(steps) == [START + pd.Timedelta(minutes=30)] and live.latest_requests() == before + 1
    assert parts.live.source == "rest" and not parts.live.stream.connected
    assert [e["event"] for e in logs if e["event"].startswith("bars_stream_connection")] == [
        "bars_stream_connection_limit"
    ]
    # the fixture's close then stops the stream inside its 5-minute wait, within 2 s


def test_trade_stream_url_follows_the_trading_url():
    assert trade_stream_url("https://paper-api.alpaca.markets") == "wss://paper-api.alpaca.markets/stream"
    assert trade_stream_url("http://127.0.0.1:8123/") == "ws://127.0.0.1:8123/stream"


def test_a_refused_trade_stream_queues_nothing_and_stops_promptly(live, tmp_path: Path):
    updates = TradeUpdates(url=live.stream.url + "/stream", key=KEY, secret="not-the-secret")
    updates.start()
    try:
        assert wait_for(lambda: live.stream.auth_failures >= 1) and not live.stream.listening()
        assert not updates.connected and updates.apply(live.journal, "run") == 0
    finally:
        started = time.monotonic()
        assert updates.stop() and time.monotonic() - started < 1  # even inside alpaca-py's reconnect backoff


def order_json(order: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**{k: v for k, v in order.items() if not k.startswith("_")}, "legs": None, **fields}


def test_a_fill_from_the_trade_stream_is_journaled_once_even_when_polling_sees_it(live):
    parts = live.build()
    updates = TradeUpdates(url=live.stream.url + "/stream", key=KEY, secret=SECRET)  # the fake's port
    parts.loop.venue.updates = updates
    parts.closers.append(updates)
    updates.start()
    assert wait_for(live.stream.listening)
    journal, trading = live.journal, live.trading
    trading.auto_fill = False
    parts.loop.on_steps(parts.live.poll(serve(live.data, 31)))  # buys AAA and BBB; nothing fills yet
    aaa, bbb = (next(o for o in trading.orders if o["symbol"] == s) for s in SYMBOLS)
    qty = int(aaa["qty"])

    def fills(order: dict[str, Any]) -> list[int]:
        rows = journal.query("SELECT qty FROM fills WHERE client_order_id = ?", (order["client_order_id"],))
        return [r["qty"] for r in rows]

    def step(n: int, events: int) -> None:
        assert wait_for(lambda: updates.received == events)
        parts.loop.on_steps(parts.live.poll(serve(live.data, n)))

    # AAA: the stream first (a partial fill), polling completes it, the stream's late fill adds nothing
    partial = order_json(aaa, status="partially_filled", filled_qty="4", filled_avg_price="20.0")
    live.stream.push_trade_update("partial_fill", partial, price=20.0, qty=4)
    step(32, 1)
    assert fills(aaa) == [4] and updates.applied == 1
    trading.set_price("AAA", 20.0)  # the fake fills the rest; the next step's polling sees it
    step(33, 1)
    assert fills(aaa) == [4, qty - 4]
    live.stream.push_trade_update("fill", order_json(aaa), price=20.0, qty=qty - 4)
    step(34, 2)
    assert fills(aaa) == [4, qty - 4] and journal.order(aaa["client_order_id"]).status == "filled"

    # BBB: polling and the stream both see the fill before the same step; the stream's is applied first
    trading.set_price("BBB", 20.0)
    live.stream.push_trade_update("fill", order_json(bbb), price=20.0, qty=int(bbb["qty"]))
    step(35, 3)
    assert fills(bbb) == [int(bbb["qty"])] and updates.applied == 2
    live.stream.push_trade_update("fill", order_json(bbb), price=20.0, qty=int(bbb["qty"]))  # sent again
    step(36, 4)
    assert fills(bbb) == [int(bbb["qty"])] and journal.count("fills") == 3


def test_the_daemon_process_closes_its_streams_on_sigterm(live):
    """A real ``python -m bot run`` with both streams on: it starts them and closes them on SIGTERM."""
    from daemonkit import Daemon

    path = live.config_path("stream_bars = true\ntrade_updates = true", timeout_seconds=2.0, max_retries=1)
    daemon = Daemon(live.tmp_path, "--config", str(path))
    try:
        assert wait_for(lambda: live.stream.subscribed("BBB"), timeout=60), daemon.output()
        code, seconds = daemon.stop()
        assert code == 0 and seconds < 5, daemon.output()
        lines = (live.tmp_path / "logs" / "bot.jsonl").read_text().splitlines()
        events = [json.loads(line)["event"] for line in lines]
        assert {"bars_stream_stopped", "trade_updates_stopped"} <= set(events)
        assert events.index("bars_stream_stopped") < events.index("daemon_stopped")
    finally:
        daemon.cleanup()
