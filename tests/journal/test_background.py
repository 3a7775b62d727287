"""A replay's bars written on a second connection and thread (``bot.journal.background``): the same
table as buffered writes, the journal's next write after them, a refused write reported as any
refused write is, and in line when no core is idle."""

from __future__ import annotations

import sqlite3

import pytest

import bot.journal.store as store
from bot.errors import JournalError
from bot.journal.store import open_journal

BARS = {
    "X": [
        (f"2024-01-{d:02d}T14:30:00+00:00", 10.0 + d, 11.0 + d, 9.0 + d, 10.5 + d, 1000.0 * d)
        for d in range(1, 29)
    ],
    "Y": [
        (f"2024-02-{d:02d}T14:30:00+00:00", 20.0 + d, 21.0 + d, 19.0 + d, 20.5 + d, 50.0 * d)
        for d in range(1, 20)
    ],
}


@pytest.fixture
def idle_core(monkeypatch):
    monkeypatch.setattr(store, "spare_cpus", lambda: 1.0)


def _bars(path) -> list[tuple]:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT * FROM bars ORDER BY source, symbol, timeframe, ts").fetchall()
    finally:
        db.close()


def test_the_bars_table_is_the_one_buffered_writes_leave(tmp_path, idle_core):
    inline = open_journal(tmp_path / "inline.sqlite")
    for symbol, rows in BARS.items():
        inline.add_bars("csv:x", symbol, "1Day", rows)
    inline.close()
    journal = open_journal(tmp_path / "background.sqlite")
    journal.add_bars_concurrently("csv:x", "1Day", BARS)
    assert journal._background is not None  # noqa: SLF001 - it did go to a thread
    journal.set_control("after", "1", by="test")  # the next write waits for the bars
    assert journal._background is None  # noqa: SLF001
    journal.close()
    assert _bars(tmp_path / "background.sqlite") == _bars(tmp_path / "inline.sqlite")
    assert len(_bars(tmp_path / "inline.sqlite")) == 28 + 19


def test_a_refused_background_write_is_a_journal_error_at_the_next_write(tmp_path, idle_core, monkeypatch):
    monkeypatch.setattr(store, "BUSY_SECONDS", 0.2)  # not the 10 s a real run waits
    journal = open_journal(tmp_path / "j.sqlite")
    journal.set_control("first", "1", by="test")
    other = sqlite3.connect(tmp_path / "j.sqlite", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    journal.add_bars_concurrently("csv:x", "1Day", BARS)
    with pytest.raises(JournalError, match="journal.path: .*j.sqlite locked by another process"):
        journal.set_control("second", "2", by="test")
    other.execute("ROLLBACK")
    other.close()
    journal.set_control("third", "3", by="test")  # the journal goes on; nothing half-written
    assert journal.control("first").value == "1"
    journal.close()
    assert _bars(tmp_path / "j.sqlite") == []


def test_no_idle_core_writes_in_line(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "spare_cpus", lambda: 0.0)
    journal = open_journal(tmp_path / "j.sqlite")
    journal.add_bars_concurrently("csv:x", "1Day", BARS)
    assert journal._background is None  # noqa: SLF001 - buffered, as add_bars does
    journal.close()
    assert len(_bars(tmp_path / "j.sqlite")) == 28 + 19
