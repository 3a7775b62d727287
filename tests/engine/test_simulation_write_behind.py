"""A replay whose journal batches go to the write-behind worker journals exactly what a replay
writing them itself journals (``bot.journal.write_behind``): bars, equity, decisions, orders and
fills, row for row, and the run's time counts the worker's last writes."""

from __future__ import annotations

import sqlite3

from bot.config import load_config
from bot.data.sources import make_feed
from bot.engine.simulation import run_simulation
from bot.journal.store import Journal, open_journal

from testkit import write_config

# the wall-clock columns (created_at, updated_at, the run's times) differ between any two runs
QUERIES = {
    "bars": "SELECT * FROM bars ORDER BY source, symbol, timeframe, ts",
    "equity": "SELECT * FROM equity ORDER BY ts",
    "decisions": "SELECT * FROM decisions ORDER BY rowid",
    "orders": "SELECT run_id, client_order_id, symbol, side, qty, type, stop_price, protective, status,"
    " reason, filled_qty, filled_avg_price, protective_stop FROM orders ORDER BY rowid",
    "fills": "SELECT * FROM fills ORDER BY rowid",
}


def _replay(tmp_path, name: str) -> dict[str, list[tuple]]:
    folder = tmp_path / name
    folder.mkdir()
    config = load_config(
        write_config(
            folder,
            '[data]\nsource = "sample"\ntimeframe = "1Min"\n[news]\nreplay = "none"\n'
            '[strategy]\nname = "sma_cross"\n[strategy.sma_cross]\nfast = 5\nslow = 15\n'
            "[risk]\nstop_loss_pct = 0.01\n",
        )
    )
    path = config.resolve(config.journal.path)
    journal = open_journal(path, batch_size=config.journal.batch_size)
    try:
        result = run_simulation(config, make_feed(config, journal), journal, "run", progress=False)
    finally:
        journal.close()
    assert result.elapsed_seconds > 0 and result.fills
    with sqlite3.connect(path) as db:
        tables = {table: db.execute(sql).fetchall() for table, sql in QUERIES.items()}
    # every bar seen and every step's equity, whichever way they went
    assert len(tables["bars"]) == result.bars and len(tables["equity"]) == len(result.equity)
    assert len(tables["fills"]) == len(result.fills)
    return tables


def test_a_replay_written_behind_journals_what_a_replay_writing_itself_journals(tmp_path, monkeypatch):
    monkeypatch.setattr(
        "bot.journal.write_behind.worth_starting", lambda helpers=0: True
    )  # a one-CPU machine too
    behind = _replay(tmp_path, "behind")
    with monkeypatch.context() as patch:
        patch.setattr(Journal, "write_behind_ahead", lambda self, **_: None)  # no worker: the journal writes
        itself = _replay(tmp_path, "itself")
    assert len(itself["bars"]) > 1000 and len(itself["equity"]) > 1000 and itself["fills"]
    for table in QUERIES:
        assert behind[table] == itself[table], table


def test_a_replay_uses_the_worker_where_one_starts(tmp_path, monkeypatch):
    monkeypatch.setattr(
        "bot.journal.write_behind.worth_starting", lambda helpers=0: True
    )  # a one-CPU machine too
    started = []
    original = Journal.write_behind_ahead

    def spy(self, **kwargs):
        original(self, **kwargs)
        started.append(self._behind_ahead is not None)

    monkeypatch.setattr(Journal, "write_behind_ahead", spy)
    _replay(tmp_path, "spied")
    assert started == [True]
