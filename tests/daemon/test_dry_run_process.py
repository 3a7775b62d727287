"""The daemon as a real subprocess: dry run, paced replay of bars served by the local
Alpaca-compatible data server, news polled from a local RSS server, real signals.

One scenario, in order (each step depends on the journal the previous one left):
it trades and beats; the feed starts failing and the daemon carries on; a second daemon on the
same journal is refused; SIGTERM stops it within 10 s; a restart resumes the run; ``kill -9`` and
another restart leave no order filled twice and an account that adds up to its fills.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from daemonkit import KEY, KEY_ENV, SECRET, Daemon, count, query, wait_for
from fakes.alpaca_data import DataFakeServer
from fakes.feed_docs import Item, rss_document
from fakes.feed_server import FeedServer
from testkit import run_cli, write_config

SYMBOLS = ("AAA", "BBB", "CCC")
DAYS = ("2024-03-07", "2024-03-08", "2024-03-11")  # a weekend and the DST change in between
INITIAL_CASH = 100_000.0


def minute_bars(day: str, seed: int) -> pd.DataFrame:
    """A regular session of 1Min bars (a random walk that crosses its averages often)."""
    opens = pd.Timestamp(f"{day} 09:30", tz="America/New_York")
    index = pd.date_range(opens, periods=390, freq="1min").tz_convert("UTC").rename("ts")
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.002, len(index))))
    open_ = np.r_[close[0], close[:-1]]
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * 1.0005,
            "low": np.minimum(open_, close) * 0.9995,
            "close": close,
            "volume": rng.integers(1_000, 5_000, len(index)).astype(float),
        },
        index=index,
    )


@pytest.fixture
def servers():
    data = DataFakeServer(key_id=KEY, secret_key=SECRET).start()
    for i, symbol in enumerate(SYMBOLS):
        data.load(symbol, "1Min", pd.concat([minute_bars(day, 10 * i + k) for k, day in enumerate(DAYS)]))
    feeds = FeedServer().start()
    yield data, feeds
    data.stop()
    feeds.stop()


def daemon_config(tmp_path: Path, data: DataFakeServer, feed_url: str) -> Path:
    return write_config(
        tmp_path,
        f"""
[data]
symbols = {json.dumps(list(SYMBOLS))}
timeframe = "1Min"
start = "{DAYS[0]}"
end = "{DAYS[-1]}"
[broker]
initial_cash = {INITIAL_CASH}
commission_per_share = 0.005
[strategy]
name = "sma_cross"
[strategy.sma_cross]
fast = 3
slow = 8
[alpaca]
data_url = "{data.url}"
trading_url = "http://127.0.0.1:9"
timeout_seconds = 2.0
max_retries = 1
backoff_seconds = 0.01
[news]
feeds = ["{feed_url}"]
timeout_seconds = 1.0
backoff_seconds = 0.2
max_backoff_seconds = 0.5
[daemon]
heartbeat_seconds = 0.5
heartbeat_max_age_seconds = 5
kill_poll_seconds = 0.2
news_poll_seconds = 0.5
""",
    )


def steps_recorded(journal: Path) -> int:
    return count(journal, "SELECT COUNT(*) FROM equity")


def test_dry_run_daemon_trades_survives_and_restarts_without_duplicates(servers, tmp_path: Path):
    data, feeds = servers
    feed_url = feeds.route(
        "/markets.xml",
        rss_document(
            [
                Item(
                    "Stocks rally as chip makers surge",
                    link="https://example.com/a",
                    guid="a",
                    pub_date="Tue, 24 Nov 2026 09:00:00 GMT",
                ),
                Item(
                    "Oil slides on weak demand",
                    link="https://example.com/b",
                    guid="b",
                    pub_date="Tue, 24 Nov 2026 09:05:00 GMT",
                ),
            ]
        ),
    )
    config = daemon_config(tmp_path, data, feed_url)
    journal = tmp_path / "dry_run.sqlite"
    args = ("--dry-run", "--config", str(config), "--source", "alpaca", "--speed", "600")
    daemons: list[Daemon] = []
    try:
        first = Daemon(tmp_path, *args, name="first")
        daemons.append(first)
        # it trades: orders filled by the simulated broker on the replayed bars
        wait_for(lambda: count(journal, "SELECT COUNT(*) FROM fills") >= 3, 60, "the first fills")
        # it beats: status sees a fresh heartbeat
        status = run_cli("status", "--config", str(config), "--dry-run", "--json", "--check", env=KEY_ENV)
        assert status.returncode == 0, status.stdout + status.stderr
        info = json.loads(status.stdout)
        assert info["heartbeat_at"] is not None and info["last_run"]["mode"] == "dry-run"
        # it polled the feed and stored the headlines
        wait_for(lambda: count(journal, "SELECT COUNT(*) FROM headlines") == 2, 20, "headlines stored")

        # the feed starts failing: the daemon logs it and goes on trading
        feeds.route("/markets.xml", "", status=500)
        failing_since = len(feeds.hits("/markets.xml"))
        before = steps_recorded(journal)
        wait_for(
            lambda: len(feeds.hits("/markets.xml")) >= failing_since + 2, 20, "polls of the failing feed"
        )
        wait_for(lambda: steps_recorded(journal) >= before + 30, 30, "steps after the feed failed")
        assert first.proc.poll() is None, first.output()

        # a second daemon on the same journal is refused with one clear line
        second = run_cli("run", *args, env=KEY_ENV, timeout=120)
        assert second.returncode == 3, second.stdout + second.stderr
        assert "another daemon" in second.stderr and f"pid {first.proc.pid}" in second.stderr

        # SIGTERM: clean exit well within 10 s, the run marked stopped
        code, seconds = first.stop(timeout=15)
        assert code == 0, first.output()
        assert seconds < 10, seconds
        run = query(journal, "SELECT * FROM runs")
        assert len(run) == 1 and run[0]["status"] == "stopped"
        run_id = run[0]["run_id"]
        assert "stopped cleanly" in first.output()

        # restart: the same run resumes after its last step
        steps_before = steps_recorded(journal)
        restarted = Daemon(tmp_path, *args, name="restarted")
        daemons.append(restarted)
        wait_for(lambda: steps_recorded(journal) >= steps_before + 40, 40, "steps after the restart")
        assert f"run {run_id} (resumed)" in restarted.output()
        # kill -9 in the middle of trading, then restart once more
        restarted.kill9()
        steps_before = steps_recorded(journal)
        fills_before = count(journal, "SELECT COUNT(*) FROM fills")
        third = Daemon(tmp_path, *args, name="third")
        daemons.append(third)
        wait_for(lambda: steps_recorded(journal) >= steps_before + 40, 40, "steps after kill -9")
        wait_for(
            lambda: count(journal, "SELECT COUNT(*) FROM fills") > fills_before, 40, "fills after kill -9"
        )
        code, _ = third.stop(timeout=15)
        assert code == 0, third.output()
    finally:
        for daemon in daemons:
            daemon.cleanup()

    assert len(query(journal, "SELECT run_id FROM runs")) == 1  # one run across three processes
    # no order was filled twice, none beyond its quantity
    assert query(journal, "SELECT client_order_id FROM fills GROUP BY 1 HAVING COUNT(*) > 1") == []
    over = query(
        journal,
        "SELECT o.client_order_id FROM orders o JOIN fills f USING (run_id, client_order_id)"
        " GROUP BY 1 HAVING SUM(f.qty) > MAX(o.qty)",
    )
    assert over == []
    # the account adds up: last recorded cash == initial cash + sells - buys - commissions
    flows = query(
        journal,
        "SELECT COALESCE(SUM(CASE side WHEN 'sell' THEN qty * price ELSE -qty * price END)"
        " - SUM(commission), 0) AS net FROM fills",
    )[0]["net"]
    last = query(journal, "SELECT cash FROM equity ORDER BY ts DESC LIMIT 1")[0]["cash"]
    assert last == pytest.approx(INITIAL_CASH + flows, abs=0.01)
    # every step was recorded once (a step replayed after the crash overwrote its own row)
    assert count(journal, "SELECT COUNT(*) FROM equity") == count(
        journal, "SELECT COUNT(DISTINCT ts) FROM equity"
    )
    log = (tmp_path / "logs" / "bot.jsonl").read_text()
    assert "signal_received" in log and "dry_run_restored" in log
