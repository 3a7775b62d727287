"""The paper daemon as a real subprocess against the local Alpaca-compatible servers (trading and
data): start-up reconciliation adopts what was opened outside the bot; ``python -m bot kill`` from
a second process leaves zero open orders and zero positions at the server within 5 s and the
daemon notices within 2 s — also when another process holds the journal locked, through the halt
file alone; a daemon restarted while HALTED stays halted and says so; bad keys stop the daemon with
one line and exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from risk.halt_file import halt_file_for, read_halt_file

from daemonkit import KEY, KEY_ENV, SECRET, Daemon, query, wait_for
from fakes.alpaca_data import DataFakeServer
from fakes.alpaca_trading import TradingFakeServer
from testkit import NO_KEYS, NO_LOSS_LIMITS, cli_env, run_cli, write_config

HOLD_LOCK = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("ROLLBACK")
"""


def daily_bars(days: int = 80) -> pd.DataFrame:
    """Daily bars (midnight New York starts) up to yesterday."""
    today = pd.Timestamp(datetime.now(UTC)).tz_convert("America/New_York").normalize()
    index = pd.bdate_range(end=today - pd.Timedelta(days=1), periods=days).tz_localize(None)
    index = index.tz_localize("America/New_York").tz_convert("UTC").rename("ts")
    close = 50 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.01, len(index))))
    return pd.DataFrame(
        {
            "open": close,
            "high": close * 1.01,
            "low": close * 0.99,
            "close": close,
            "volume": np.full(len(index), 1e6),
        },
        index=index,
    )


@pytest.fixture
def venue():
    trading = TradingFakeServer(key_id=KEY, secret_key=SECRET).start()
    data = DataFakeServer(key_id=KEY, secret_key=SECRET).start()
    data.load("AAA", "1Day", daily_bars())
    yield trading, data
    trading.stop()
    data.stop()


def paper_config(tmp_path: Path, trading: TradingFakeServer, data: DataFakeServer) -> Path:
    return write_config(
        tmp_path,
        f"""
[data]
symbols = ["AAA"]
timeframe = "1Day"
[strategy]
name = "sma_cross"
[alpaca]
trading_url = "{trading.url}"
data_url = "{data.url}"
timeout_seconds = 2.0
max_retries = 1
backoff_seconds = 0.01
[daemon]
heartbeat_seconds = 0.5
kill_poll_seconds = 0.5
[risk]
{NO_LOSS_LIMITS}""",
    )


def open_at_server(trading: TradingFakeServer) -> tuple[list, dict]:
    with trading.lock:
        open_orders = [o for o in trading.orders if o["status"] in ("new", "accepted", "held", "pending_new")]
        return open_orders, {s: q for s, (q, _) in trading.holdings.items() if q}


def log_events(tmp_path: Path, name: str) -> list[dict]:
    path = tmp_path / "logs" / "bot.jsonl"
    if not path.exists():
        return []
    return [e for e in map(json.loads, path.read_text().splitlines()) if e.get("event") == name]


def test_kill_from_a_second_process_flattens_the_account_while_the_daemon_runs(venue, tmp_path: Path):
    trading, data = venue
    trading.add_position("AAA", 100, 50.0)  # opened outside the bot
    trading.set_price("AAA", 51.0)
    trading.add_order(
        symbol="AAA", qty="5", side="buy", type="limit", limit_price="40", client_order_id="placed-by-hand"
    )
    config = paper_config(tmp_path, trading, data)
    journal = tmp_path / "journal.sqlite"
    daemon = Daemon(tmp_path, "--config", str(config), name="paper")
    try:
        wait_for(lambda: log_events(tmp_path, "reconciled"), 30, "the start-up reconciliation")
        adopted = log_events(tmp_path, "reconciled")[0]
        assert adopted["adopted_positions"] == ["AAA"] and adopted["adopted_orders"] == ["placed-by-hand"]
        wait_for(lambda: query(journal, "SELECT 1 FROM control WHERE key = 'heartbeat'"), 10, "a heartbeat")
        assert "WARNING: no loss limit is configured" in daemon.output()  # every limit is off in this config

        started = time.monotonic()
        killed = run_cli("kill", "--config", str(config), "--reason", "test kill", env=KEY_ENV, timeout=30)
        assert killed.returncode == 0, killed.stdout + killed.stderr
        wait_for(lambda: open_at_server(trading) == ([], {}), 5, "zero orders and positions at the server")
        assert time.monotonic() - started < 5
        kill_time = datetime.fromisoformat(
            query(journal, "SELECT updated_at FROM control WHERE key = 'trading'")[0][0]
        )
        seen = wait_for(lambda: log_events(tmp_path, "kill_switch_seen"), 5, "the daemon noticing the kill")[
            0
        ]
        noticed_after = (
            datetime.fromisoformat(seen["timestamp"].replace("Z", "+00:00")) - kill_time
        ).total_seconds()
        assert noticed_after < 2, noticed_after
        wait_for(lambda: log_events(tmp_path, "halt_flattened"), 5, "the daemon's own flatten (idempotent)")
        assert daemon.proc.poll() is None, daemon.output()
        assert open_at_server(trading) == ([], {})  # and it sent nothing afterwards
        code, seconds = daemon.stop()
        assert code == 0 and seconds < 10, daemon.output()
    finally:
        daemon.cleanup()

    # restarted while HALTED: it says so on the console and in status, and sends nothing
    again = Daemon(tmp_path, "--config", str(config), name="again")
    try:
        wait_for(lambda: "TRADING HALTED" in again.output(), 30, "the halted banner")
        status = run_cli("status", "--config", str(config), "--json", env=KEY_ENV)
        info = json.loads(status.stdout)
        assert info["halted"] is True and info["halt_reason"] == "test kill"
        assert info["positions"] == [] and info["open_orders"] == [] and info["positions_source"] == "broker"
        posts = len(trading.posts)
        time.sleep(1.5)
        assert len(trading.posts) == posts
        code, _ = again.stop()
        assert code == 0, again.output()
    finally:
        again.cleanup()


def test_a_kill_the_journal_cannot_take_reaches_the_running_daemon_through_the_halt_file(
    venue, tmp_path: Path
):
    trading, data = venue
    trading.add_position("AAA", 100, 50.0)
    trading.set_price("AAA", 51.0)
    config = paper_config(tmp_path, trading, data)
    journal = tmp_path / "journal.sqlite"
    daemon = Daemon(tmp_path, "--config", str(config), name="paper")
    holder = None
    try:
        wait_for(lambda: query(journal, "SELECT 1 FROM control WHERE key = 'heartbeat'"), 30, "a heartbeat")
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, str(journal), "6"], stdout=subprocess.PIPE, text=True
        )
        assert holder.stdout.readline().strip() == "locked"
        killer = subprocess.Popen(
            [sys.executable, "-m", "bot", "kill", "--config", str(config), "--reason", "locked"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(KEY_ENV),
        )
        halt_file = halt_file_for(journal)
        record = wait_for(lambda: read_halt_file(halt_file), 10, "the halt file")
        seen = wait_for(
            lambda: log_events(tmp_path, "kill_switch_seen"), 5, "the daemon noticing the halt file"
        )[0]
        assert holder.poll() is None  # the journal was still locked when the daemon noticed
        noticed_after = (
            datetime.fromisoformat(seen["timestamp"].replace("Z", "+00:00"))
            - datetime.fromisoformat(record["at"])
        ).total_seconds()
        assert noticed_after < 2, noticed_after
        assert seen["reason"] == "locked"
        wait_for(lambda: open_at_server(trading) == ([], {}), 10, "zero orders and positions at the server")
        out, err = killer.communicate(timeout=60)
        assert killer.returncode == 0, out + err
        assert daemon.proc.poll() is None, daemon.output()
        code, _ = daemon.stop(timeout=20)
        assert code == 0, daemon.output()
    finally:
        if holder is not None:
            holder.kill()
            holder.wait()
        daemon.cleanup()


def test_bad_keys_stop_the_paper_daemon_with_one_line(venue, tmp_path: Path):
    trading, data = venue
    config = paper_config(tmp_path, trading, data)
    result = run_cli(
        "run", "--config", str(config), env={**KEY_ENV, "ALPACA_SECRET_KEY": "wrong"}, timeout=60
    )
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "rejected the API keys" in errors[0], result.stderr
    assert "Traceback" not in result.stderr


def test_replay_flags_need_a_dry_run(venue, tmp_path: Path):
    trading, data = venue
    config = paper_config(tmp_path, trading, data)
    result = run_cli("run", "--config", str(config), "--source", "sample", env=KEY_ENV, timeout=60)
    assert result.returncode == 2 and "--dry-run" in result.stderr, result.stderr
    assert trading.posts == []


def test_a_live_dry_run_without_keys_says_which_variables_are_missing(venue, tmp_path: Path):
    trading, data = venue
    config = paper_config(tmp_path, trading, data)
    result = run_cli("run", "--dry-run", "--config", str(config), env=NO_KEYS, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "ALPACA_API_KEY" in result.stderr and "Traceback" not in result.stderr
    assert data.requests == [] and trading.requests == []
