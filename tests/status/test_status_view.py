"""``status``: what it reads from a journal built with the Journal API (positions with stops, open
orders, today's PnL across a New York midnight and DST changes, last bars, heartbeat), from the
local Alpaca-compatible server, the fallback when the broker is down, and ``--check``."""

from __future__ import annotations

import json
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.broker.base import Fill, Order, OrderRequest, OrderStatus, OrderType, Side
from bot.config import load_config
from bot.journal.heartbeat import beat
from bot.journal.store import Journal, open_journal
from bot.status.text import format_status
from bot.status.view import check, collect
from risk.killswitch import KillSwitch

from fakes.alpaca_trading import TradingFakeServer
from testkit import NO_KEYS, heavy_imports, key_env, run_cli, write_config

EXISTING_KEYS = {
    "halted",
    "halt_reason",
    "halted_at",
    "halted_by",
    "last_run",
    "equity",
    "journal",
    "schema_version",
}
NEW_KEYS = {
    "heartbeat_at",
    "heartbeat_age_seconds",
    "heartbeat_by",
    "daemon_alive",
    "positions",
    "open_orders",
    "positions_source",
    "broker_error",
    "today",
    "last_bars",
}
TODAY_KEYS = {
    "date",
    "pnl",
    "pnl_pct",
    "day_start_equity",
    "equity",
    "daily_loss_limit_pct",
    "loss_limit_left",
}


pytestmark = pytest.mark.usefixtures("no_alpaca_keys")


def _order(
    cid: str,
    symbol: str,
    side: Side,
    qty: int,
    kind: OrderType = OrderType.MARKET,
    *,
    status: OrderStatus,
    limit: float | None = None,
    stop: float | None = None,
    protective: bool = False,
) -> Order:
    request = OrderRequest(cid, symbol, side, qty, kind, limit_price=limit, stop_price=stop)
    return Order(request, datetime(2024, 1, 2, tzinfo=UTC), status, protective=protective)


def build_journal(path: Path, equity: list[tuple[str, datetime, float]], *, bar_time: datetime) -> None:
    """Two paper runs of one account (a restart), a simulation run in between that must not count,
    AAPL held with a protective stop, a resting MSFT limit, and bars of several sources."""
    with open_journal(path) as journal:
        for run_id, mode in (("paper-0", "paper"), ("sim-0", "simulate"), ("paper-1", "paper")):
            journal.start_run(
                run_id,
                mode,
                source="alpaca",
                synthetic=False,
                strategy="sma_cross",
                symbols=["AAPL", "MSFT", "NVDA"],
                timeframe="1Min",
                config={},
            )
        for run_id, ts, value in equity:
            journal.add_equity(run_id, ts, value - 950.0, value, 950.0)
        fill_ts = bar_time - timedelta(minutes=30)
        journal.record_order("paper-1", _order("sma-AAPL-1", "AAPL", Side.BUY, 10, status=OrderStatus.FILLED))
        journal.record_fill("paper-1", Fill("sma-AAPL-1", "AAPL", Side.BUY, 10, 95.0, 0.0, fill_ts))
        journal.record_fill("sim-0", Fill("sim-x", "TSLA", Side.BUY, 3, 10.0, 0.0, fill_ts))  # another run
        open_orders = [
            _order(
                "sma-AAPL-1-stop",
                "AAPL",
                Side.SELL,
                10,
                OrderType.STOP,
                status=OrderStatus.NEW,
                stop=90.0,
                protective=True,
            ),
            _order("manual-stop", "AAPL", Side.SELL, 10, OrderType.STOP, status=OrderStatus.NEW, stop=92.0),
            _order(
                "sma-MSFT-1", "MSFT", Side.BUY, 5, OrderType.LIMIT, status=OrderStatus.PENDING, limit=250.0
            ),
        ]
        for order in open_orders:
            journal.record_order("paper-1", order)
        journal.record_order(
            "paper-1",
            _order(
                "old-stop",
                "AAPL",
                Side.SELL,
                10,
                OrderType.STOP,
                status=OrderStatus.CANCELED,
                stop=99.0,
                protective=True,
            ),
        )
        row = lambda ts: (ts.isoformat(), 100.0, 101.0, 99.0, 100.5, 1000.0)  # noqa: E731
        journal.add_bars("alpaca", "AAPL", "1Min", [row(bar_time - timedelta(minutes=1)), row(bar_time)])
        journal.add_bars("alpaca", "MSFT", "1Min", [row(bar_time - timedelta(minutes=3))])
        journal.add_bars("alpaca", "AAPL", "1Day", [row(bar_time + timedelta(days=3))])  # other timeframe
        journal.add_bars("sample", "MSFT", "1Min", [row(bar_time + timedelta(days=3))])  # other source


def _config(tmp_path: Path, extra: str = "[risk]\ndaily_loss_pct = 0.03\n") -> Path:
    return write_config(tmp_path, extra)


def _iso(ts: datetime) -> str:
    return ts.isoformat()


# New York midnight is 04:00 or 05:00 UTC depending on daylight saving: a row at 04:30 UTC belongs
# to today on the Monday after DST starts (00:30 EDT) and to yesterday on the Monday after it ends
# (23:30 EST on Sunday), so it is today's first row in one case and the previous close in the other.
DST_CASES = {
    "spring-forward": dict(
        now=datetime(2024, 3, 11, 15, 0, tzinfo=UTC),
        date="2024-03-11",
        rows=[
            ("paper-0", datetime(2024, 3, 8, 21, 0, tzinfo=UTC), 100_000.0),
            ("sim-0", datetime(2024, 3, 11, 3, 59, tzinfo=UTC), 5.0),
            ("paper-1", datetime(2024, 3, 11, 4, 30, tzinfo=UTC), 99_000.0),
            ("paper-1", datetime(2024, 3, 11, 14, 45, tzinfo=UTC), 98_000.0),
            ("paper-1", datetime(2024, 3, 11, 16, 0, tzinfo=UTC), 1.0),
        ],  # after now
        start=100_000.0,
        equity=98_000.0,
    ),
    "fall-back": dict(
        now=datetime(2024, 11, 4, 15, 0, tzinfo=UTC),
        date="2024-11-04",
        rows=[
            ("paper-0", datetime(2024, 11, 1, 20, 0, tzinfo=UTC), 100_000.0),
            ("paper-1", datetime(2024, 11, 4, 4, 30, tzinfo=UTC), 99_000.0),
            ("paper-1", datetime(2024, 11, 4, 14, 45, tzinfo=UTC), 98_000.0),
        ],
        start=99_000.0,
        equity=98_000.0,
    ),
}


@pytest.mark.parametrize("case", DST_CASES.values(), ids=DST_CASES.keys())
def test_status_from_the_journal_across_a_new_york_midnight(tmp_path, case):
    now = case["now"]
    path = tmp_path / "journal.sqlite"
    build_journal(path, case["rows"], bar_time=now - timedelta(minutes=1))
    with open_journal(path) as journal:
        beat(journal, {"run_id": "paper-1", "mode": "paper"}, now=now - timedelta(seconds=30))
    config = load_config(_config(tmp_path))
    journal = Journal(path, readonly=True)
    try:
        info = collect(journal, config, now=now)
    finally:
        journal.close()

    today = info["today"]
    assert set(today) == TODAY_KEYS
    pnl = case["equity"] - case["start"]
    assert today["date"] == case["date"]
    assert today["day_start_equity"] == case["start"] and today["equity"] == case["equity"]
    assert today["pnl"] == pytest.approx(pnl) and today["pnl_pct"] == pytest.approx(
        pnl / case["start"], abs=1e-6
    )
    assert today["daily_loss_limit_pct"] == 0.03
    assert today["loss_limit_left"] == pytest.approx(case["equity"] - case["start"] * 0.97)

    assert info["last_run"]["run_id"] == "paper-1" and info["positions_source"] == "journal"
    # the protective stop wins over a manual one; the cancelled stop is not open
    assert info["positions"] == [{"symbol": "AAPL", "qty": 10, "avg_price": 95.0, "stop": 90.0}]
    orders = {o["client_order_id"]: o for o in info["open_orders"]}
    assert set(orders) == {"sma-AAPL-1-stop", "manual-stop", "sma-MSFT-1"}
    assert orders["sma-AAPL-1-stop"] == {
        "client_order_id": "sma-AAPL-1-stop",
        "symbol": "AAPL",
        "side": "sell",
        "qty": 10,
        "type": "stop",
        "status": "new",
        "limit_price": None,
        "stop_price": 90.0,
        "protective": True,
    }
    assert orders["sma-MSFT-1"]["status"] == "pending" and orders["sma-MSFT-1"]["limit_price"] == 250.0
    assert info["last_bars"] == {
        "AAPL": _iso(now - timedelta(minutes=1)),
        "MSFT": _iso(now - timedelta(minutes=4)),
        "NVDA": None,
    }
    assert info["heartbeat_age_seconds"] == 30.0 and info["daemon_alive"] is True
    assert info["heartbeat_by"].startswith("pid ") and info["heartbeat_detail"]["run_id"] == "paper-1"

    text = format_status({"journal": str(path), **info})
    assert "HALTED" not in text
    assert "AAPL" in text and "stop 90.00" in text and "limit 250.00" in text and "[protective]" in text
    assert f"PnL {'-' if pnl < 0 else ''}${abs(pnl):,.2f}" in text and "daily loss limit 3.00%" in text
    assert "daemon: alive" in text and "30 s ago" in text
    assert "last bars (alpaca, 1Min)" in text and "none journaled" in text


def test_today_without_a_loss_limit_and_on_the_first_day(tmp_path):
    now = datetime(2024, 3, 12, 15, 0, tzinfo=UTC)
    path = tmp_path / "journal.sqlite"
    rows = [
        ("paper-1", datetime(2024, 3, 12, 13, 31, tzinfo=UTC), 50_000.0),
        ("paper-1", datetime(2024, 3, 12, 14, 59, tzinfo=UTC), 50_500.0),
    ]
    build_journal(path, rows, bar_time=now)
    config = load_config(_config(tmp_path, "[risk]\ndaily_loss_pct = 0.0\n"))
    with Journal(path, readonly=True) as journal:
        today = collect(journal, config, now=now)["today"]
    # no close before today: the day starts at the first row, like the risk gate's EquityTracker
    assert today["day_start_equity"] == 50_000.0 and today["pnl"] == 500.0
    assert today["daily_loss_limit_pct"] is None and today["loss_limit_left"] is None
    assert "daily loss limit off" in format_status({"journal": "j", **collect_journal(path, config, now)})


def collect_journal(path: Path, config, now: datetime) -> dict:
    with Journal(path, readonly=True) as journal:
        return collect(journal, config, now=now)


def _real_now_journal(tmp_path: Path) -> Path:
    """The fixture journal with times around the real clock (for the CLI, which reads the clock)."""
    now = datetime.now(UTC).replace(microsecond=0)
    rows = [
        ("paper-0", now - timedelta(days=1, hours=1), 100_000.0),
        ("paper-1", now - timedelta(seconds=5), 99_500.0),
    ]
    build_journal(tmp_path / "journal.sqlite", rows, bar_time=now - timedelta(minutes=1))
    return tmp_path / "journal.sqlite"


def test_status_cli_json_keeps_the_old_keys_and_adds_the_new_ones(tmp_path):
    _real_now_journal(tmp_path)
    config = _config(tmp_path)
    with open_journal(tmp_path / "journal.sqlite") as journal:
        KillSwitch(journal).halt("tester", "drill")
        beat(journal, {"run_id": "paper-1"})
    result = run_cli("status", "--json", "--config", str(config), env=NO_KEYS)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert EXISTING_KEYS | NEW_KEYS <= set(info)
    assert info["halted"] is True and info["halt_reason"] == "drill" and info["daemon_alive"] is True
    assert info["heartbeat_at"] and info["heartbeat_age_seconds"] < 60
    assert info["positions"] == [{"symbol": "AAPL", "qty": 10, "avg_price": 95.0, "stop": 90.0}]
    assert (
        len(info["open_orders"]) == 3
        and info["positions_source"] == "journal"
        and info["broker_error"] is None
    )
    assert set(info["last_bars"]) == {"AAPL", "MSFT", "NVDA"}

    text = run_cli("status", "--config", str(config), env=NO_KEYS).stdout
    assert text.startswith("*** TRADING HALTED ***") and "drill" in text
    assert "positions (journal):" in text and "open orders (journal):" in text and "daemon: alive" in text


@pytest.fixture
def server():
    s = TradingFakeServer().start()
    try:
        yield s
    finally:
        s.stop()


def test_status_reads_positions_and_orders_from_the_broker(tmp_path, server):
    _real_now_journal(tmp_path)
    server.set_price("AAPL", 100.0)
    server.set_price("MSFT", 300.0)
    server.add_position("AAPL", 7, 96.5)
    server.add_position("MSFT", 2, 310.0)
    server.add_order(
        client_order_id="guard-1", symbol="AAPL", qty="7", side="sell", type="stop", stop_price="91.5"
    )
    server.add_order(
        client_order_id="rest-1", symbol="MSFT", qty="1", side="buy", type="limit", limit_price="250"
    )
    config = _config(tmp_path, f'[risk]\ndaily_loss_pct = 0.03\n[alpaca]\ntrading_url = "{server.url}"\n')
    env = server.key_env

    result = run_cli("status", "--json", "--config", str(config), env=env)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["positions_source"] == "broker" and info["broker_error"] is None
    assert info["positions"] == [
        {"symbol": "AAPL", "qty": 7, "avg_price": 96.5, "stop": 91.5},
        {"symbol": "MSFT", "qty": 2, "avg_price": 310.0, "stop": None},
    ]
    orders = {o["client_order_id"]: o for o in info["open_orders"]}
    assert orders["guard-1"] == {
        "client_order_id": "guard-1",
        "symbol": "AAPL",
        "side": "sell",
        "qty": 7,
        "type": "stop",
        "status": "new",
        "limit_price": None,
        "stop_price": 91.5,
        "protective": False,
    }
    assert (
        orders["rest-1"]["type"] == "limit" and orders["rest-1"]["limit_price"] == 250.0 and len(orders) == 2
    )
    assert info["today"]["daily_loss_limit_pct"] == 0.03  # PnL stays the journal's (what the gate sees)
    assert server.secret_key not in result.stdout + result.stderr

    text = run_cli("status", "--config", str(config), env=env).stdout
    assert "positions (broker):" in text and "stop 91.50" in text and "NO STOP" in text

    # the dry run has no broker of its own: the journal only, nothing asked of Alpaca
    before = len(server.requests)
    dry = run_cli("status", "--json", "--dry-run", "--config", str(config), env=env)
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["positions_source"] == "journal" and len(server.requests) == before


def test_an_unreachable_broker_falls_back_to_the_journal(tmp_path):
    _real_now_journal(tmp_path)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = _config(
        tmp_path,
        f'[alpaca]\ntrading_url = "http://127.0.0.1:{port}"\ntimeout_seconds = 30\n'
        "max_retries = 8\nbackoff_seconds = 5\n",
    )
    keys = ("PKSECRETKEY999", "verysecretvalue999")
    env = key_env(*keys)
    started = time.monotonic()
    result = run_cli("status", "--json", "--config", str(config), env=env)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert elapsed < 8, elapsed  # retries and backoff are capped for status
    info = json.loads(result.stdout)
    assert info["positions_source"] == "journal"
    assert info["positions"] == [{"symbol": "AAPL", "qty": 10, "avg_price": 95.0, "stop": 90.0}]
    error = info["broker_error"]
    assert error and "\n" not in error and "TemporaryError" in error
    for secret in keys:
        assert secret not in result.stdout + result.stderr

    text = run_cli("status", "--config", str(config), env=env).stdout
    assert "broker: unreachable" in text and "positions (journal):" in text


def _check(config: Path, *extra: str, capsys) -> tuple[int, str, str]:
    code = main(["status", "--check", *extra, "--config", str(config)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_check_fresh_stale_and_missing_heartbeat(tmp_path, capsys):
    config = write_config(tmp_path, "[daemon]\nheartbeat_max_age_seconds = 60\n")
    path = tmp_path / "journal.sqlite"

    code, out, _ = _check(config, capsys=capsys)
    assert code == 1 and out.startswith("no journal:") and str(path) in out
    assert not path.exists()  # status never creates the journal

    open_journal(path).close()
    code, out, _ = _check(config, capsys=capsys)
    assert code == 1 and out == f"no heartbeat: the daemon has never run on {path}\n"

    with open_journal(path) as journal:
        beat(journal, {}, now=datetime.now(UTC) - timedelta(seconds=5))
    code, out, _ = _check(config, capsys=capsys)
    assert code == 0 and out.startswith("ok: heartbeat ") and " s old (pid " in out and out.count("\n") == 1

    with open_journal(path) as journal:
        KillSwitch(journal).halt("tester", "drill")
    code, out, _ = _check(config, capsys=capsys)
    assert code == 0 and out.startswith("ok: ") and "HALTED" in out  # alive is alive, halted or not

    with open_journal(path) as journal:
        beat(journal, {}, now=datetime.now(UTC) - timedelta(seconds=600))
    code, out, _ = _check(config, capsys=capsys)
    assert code == 1 and out.startswith("stale: last heartbeat 6") and "(max 60)" in out

    code, out, err = _check(config, "--json", capsys=capsys)  # JSON on stdout, the verdict on stderr
    info = json.loads(out)
    assert code == 1 and info["daemon_alive"] is False and info["heartbeat_age_seconds"] >= 600
    assert info["heartbeat_max_age_seconds"] == 60 and err.startswith("stale:")


def test_check_reads_the_dry_run_journal_with_dry_run(tmp_path, capsys):
    config = write_config(tmp_path)
    with open_journal(tmp_path / "dry_run.sqlite") as journal:
        beat(journal, {"mode": "dry-run"})
    assert _check(config, capsys=capsys)[0] == 1
    code, out, _ = _check(config, "--dry-run", capsys=capsys)
    assert code == 0 and out.startswith("ok:")
    assert main(["status", "--dry-run", "--json", "--config", str(config)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["journal"].endswith("dry_run.sqlite") and info["daemon_alive"] is True


def test_pure_check_line():
    info = {
        "journal": "j",
        "heartbeat_at": "t",
        "heartbeat_age_seconds": 12.4,
        "heartbeat_by": "pid 7",
        "daemon_alive": True,
        "heartbeat_max_age_seconds": 120.0,
        "halted": False,
        "halt_reason": None,
    }
    assert check(info, True) == (0, "ok: heartbeat 12 s old (pid 7)")


@pytest.mark.parametrize("argv", [["status", "--check"], ["status", "--dry-run", "--json"]])
def test_status_flags_stay_light(argv, tmp_path):
    _real_now_journal(tmp_path)
    heavy, output = heavy_imports(*argv, "--config", str(_config(tmp_path)))
    assert heavy == [], output


def test_status_reading_the_broker_never_imports_tensorflow(tmp_path):
    _real_now_journal(tmp_path)
    config = _config(tmp_path, '[alpaca]\ntrading_url = "http://127.0.0.1:9"\n')  # nothing listens on 9
    heavy, output = heavy_imports(
        "status",
        "--json",
        "--config",
        str(config),
        heavy=("tensorflow", "keras", "matplotlib"),
        env=key_env("PKLIGHT0001", "light-secret-0001"),
    )
    assert '"broker_error": "' in output  # the broker path was taken (and failed fast)
    assert heavy == [], output
