"""One pipeline: the daemon's paced replay (``run --dry-run --source sample``) trades exactly like
``simulate`` over the same bars: the same orders, fills and equity, step by step."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from daemonkit import KEY_ENV
from testkit import run_cli, write_config


def _rows(path: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(path)
    try:
        run = db.execute("SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1").fetchone()[0]
        return sorted(db.execute(sql, (run,)).fetchall())
    finally:
        db.close()


def test_the_dry_run_replay_trades_exactly_like_a_simulation(tmp_path: Path):
    config = write_config(
        tmp_path,
        """
[data]
timeframe = "1Day"
start = "2023-01-03"
end = "2023-06-30"
[strategy]
name = "sma_cross"
[strategy.sma_cross]
fast = 5
slow = 15
[broker]
commission_per_share = 0.005
""",
    )
    simulated = run_cli("simulate", "--config", str(config), "--json", env=KEY_ENV, timeout=120)
    assert simulated.returncode == 0, simulated.stderr
    replayed = run_cli(
        "run",
        "--dry-run",
        "--config",
        str(config),
        "--source",
        "sample",
        "--speed",
        "1e9",
        env=KEY_ENV,
        timeout=120,
    )
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    fills = "SELECT ts, symbol, side, qty, ROUND(price, 6), ROUND(commission, 6) FROM fills WHERE run_id = ?"
    equity = "SELECT ts, ROUND(cash, 6), ROUND(equity, 6) FROM equity WHERE run_id = ?"
    orders = "SELECT client_order_id, side, qty, status FROM orders WHERE run_id = ?"
    sim_journal, dry_journal = tmp_path / "journal.sqlite", tmp_path / "dry_run.sqlite"
    assert len(_rows(sim_journal, fills)) > 10
    assert _rows(dry_journal, fills) == _rows(sim_journal, fills)
    assert _rows(dry_journal, orders) == _rows(sim_journal, orders)
    assert _rows(dry_journal, equity) == _rows(sim_journal, equity)
