"""A simulation's journal batches written by the write-behind worker (``bot.journal.write_behind``)
leave the file the journal's own writes leave; a worker that dies, or a file that refuses it, is
a ``JournalError`` naming the key and the file, never a hang."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.broker.base import Fill, Order, OrderRequest, OrderStatus, Side
from bot.errors import JournalError
from bot.journal.packed_stamps import PackedStamps
from bot.journal.records import iso
from bot.journal.store import Journal, open_journal

START = datetime(2024, 3, 1, 14, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _two_cpus(monkeypatch):
    """A worker starts on a one-CPU machine too, here: these tests are about the worker."""
    monkeypatch.setattr("bot.journal.write_behind.worth_starting", lambda helpers=0: True)


TABLES = ("bars", "equity", "decisions", "orders", "fills", "runs")


def _stamps(n: int, first: int = 0) -> list[str]:
    return [iso(START + timedelta(minutes=first + i)) for i in range(n)]


def _start(journal: Journal, run_id: str) -> None:
    journal.start_run(
        run_id, "simulate", source="csv:x", synthetic=False, strategy="s", symbols=["AAA", "BBB"],
        timeframe="1Min", config={},
    )  # fmt: skip


def _replay_writes(journal: Journal, *, packed: bool) -> None:
    """What a replay writes, in a replay's order: its run, its bars, then per step orders (pending,
    the broker's answer, the fill), decisions and pieces of equity, across several batches."""
    _start(journal, "r")
    with journal.batched_orders():
        for symbol in ("AAA", "BBB"):
            times = _stamps(3000)
            stamps = PackedStamps("".join(times), len(times[0])) if packed else times
            columns = [[100.0 + i / 7 for i in range(3000)] for _ in range(4)] + [
                [float(i) for i in range(3000)]
            ]
            journal.add_bar_columns("csv:x", symbol, "1Min", stamps, columns)
        cash, equity = [], []
        for step in range(1500):
            ts = START + timedelta(minutes=step)
            if step % 3 == 0:
                cid = f"c{step}"
                request = OrderRequest(cid, "AAA", Side.BUY if step % 2 else Side.SELL, 5)
                journal.add_decision(
                    "r", ts, strategy="s", symbol="AAA", target_weight=0.5, current_qty=0,
                    requested_qty=5, approved_qty=5, verdict="allow", rule=None, reason=None,
                    client_order_id=cid,
                )  # fmt: skip
                journal.record_order("r", Order(request, ts, OrderStatus.PENDING))
                journal.record_order("r", Order(request, ts, OrderStatus.NEW, broker_order_id=f"b{step}"))
                filled = Order(request, ts, OrderStatus.FILLED, broker_order_id=f"b{step}", filled_qty=5,
                               filled_avg_price=101.5)  # fmt: skip
                journal.record_order("r", filled)
                journal.record_fill("r", Fill(cid, "AAA", request.side, 5, 101.5, 0.5, ts))
            cash.append(1000.0 - step / 3)
            equity.append(1000.0 + step / 11)
            if len(cash) % 400 == 0:
                first = len(cash) - 400
                journal.add_equity_columns("r", _stamps(400, first), cash[first:], equity[first:])
        journal.add_equity_columns("r", _stamps(len(cash) - 1200, 1200), cash[1200:], equity[1200:])
    journal.end_run("r", "completed", {"fills": 500})


def _tables(path: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as db:
        # wall-clock columns left out (started_at, ended_at, created_at, updated_at)
        return {
            "bars": db.execute("SELECT * FROM bars ORDER BY symbol, ts").fetchall(),
            "equity": db.execute("SELECT * FROM equity ORDER BY ts").fetchall(),
            "decisions": db.execute("SELECT * FROM decisions ORDER BY rowid").fetchall(),
            "orders": db.execute(
                "SELECT run_id, client_order_id, symbol, side, qty, status, broker_order_id, filled_qty,"
                " filled_avg_price FROM orders ORDER BY rowid"
            ).fetchall(),
            "fills": db.execute("SELECT * FROM fills ORDER BY rowid").fetchall(),
            "runs": db.execute("SELECT run_id, mode, status, summary FROM runs").fetchall(),
        }


def test_batches_written_behind_leave_the_file_the_journal_itself_leaves(tmp_path: Path) -> None:
    itself = open_journal(tmp_path / "itself.sqlite", batch_size=5000)
    _replay_writes(itself, packed=False)
    itself.close()
    behind = open_journal(tmp_path / "behind.sqlite", batch_size=5000)
    behind.write_behind_ahead()
    assert behind._behind_ahead is not None  # a worker took the batches (else this compares nothing)
    _replay_writes(behind, packed=True)
    behind.close()
    expected, got = _tables(tmp_path / "itself.sqlite"), _tables(tmp_path / "behind.sqlite")
    assert (
        len(expected["bars"]) == 6000 and len(expected["equity"]) == 1500 and len(expected["orders"]) == 500
    )
    for table in TABLES:
        assert got[table] == expected[table], table


def test_everything_handed_over_is_written_before_the_block_ends(tmp_path: Path) -> None:
    """A reader opening the file as the block ends sees every row: sync waits for the worker."""
    journal = open_journal(tmp_path / "j.sqlite")
    journal.write_behind_ahead()
    with journal.batched_orders():
        journal.add_equity_columns("r", _stamps(5000), [1.0] * 5000, [2.0] * 5000)
    with sqlite3.connect(tmp_path / "j.sqlite") as db:
        assert db.execute("SELECT count(*) FROM equity").fetchone()[0] == 5000
    journal.close()


def test_numpy_numbers_and_str_enums_reach_the_file_as_the_journal_stores_them(tmp_path: Path) -> None:
    """Subclasses of float and str (NumPy's float64, a ``StrEnum``), which the worker could not
    unpickle without NumPy or the bot's modules, are stored as the journal's own write stores
    them."""
    import numpy as np

    tables = {}
    for name, behind in (("itself", False), ("behind", True)):
        journal = open_journal(tmp_path / f"{name}.sqlite")
        if behind:
            journal.write_behind_ahead()
        with journal.batched_orders():
            cash = [np.float64(1000.5 + i) for i in range(50)]
            journal.add_equity_columns("r", _stamps(50), cash, [2000.25] * 50)
            journal.add_bar_columns(Side.BUY, "AAA", "1Min", _stamps(3), [[np.float64(1.25)] * 3] * 5)
        journal.close()
        found = _tables(tmp_path / f"{name}.sqlite")
        tables[name] = found["equity"] + found["bars"]
    assert len(tables["behind"]) == 53 and tables["behind"] == tables["itself"]
    assert tables["behind"][-1][:2] == ("buy", "AAA") and type(tables["behind"][0][2]) is float


def test_a_worker_that_dies_is_a_journal_error_naming_the_file_not_a_hang(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = open_journal(path, key="journal.path")
    journal.write_behind_ahead()
    worker = journal._behind_ahead._process
    started = time.monotonic()
    with pytest.raises(JournalError, match=rf"journal\.path: {path}: the journal's writer stopped"):
        with journal.batched_orders():
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(10)
            journal.add_equity_columns("r", _stamps(3000), [1.0] * 3000, [2.0] * 3000)
            journal.flush()
            _start(journal, "r2")  # a write of its own: waits for the worker first
    assert time.monotonic() - started < 20
    journal.close()  # and the journal still closes


def test_a_file_the_worker_cannot_lock_is_the_journals_locked_error(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = open_journal(path, key="journal.path")
    journal.write_behind_ahead(busy_seconds=0.2)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock throughout
    try:
        with pytest.raises(JournalError, match=rf"journal\.path: {path} locked by another process") as caught:
            with journal.batched_orders():
                journal.add_equity_columns("r", _stamps(10), [1.0] * 10, [2.0] * 10)
        assert caught.value.passing  # a lock passes: the caller may try again
    finally:
        other.execute("ROLLBACK")
        other.close()
    journal.close()


def test_packed_stamps_are_a_sequence_of_the_times() -> None:
    times = _stamps(5)
    packed = PackedStamps("".join(times), len(times[0]))
    assert len(packed) == 5 and list(packed) == times and packed == times
    assert packed[0] == times[0] and packed[-1] == times[-1] and packed[1:3] == times[1:3]
    assert isinstance(packed[1:3], PackedStamps) and packed[3:1] == [] and packed[::2] == times[::2]
    with pytest.raises(IndexError):
        packed[5]
    with pytest.raises(ValueError):
        PackedStamps("abc", 2)


def test_ctrl_c_leaves_the_worker_writing_what_it_was_handed(tmp_path: Path) -> None:
    """Ctrl-C reaches the worker too (the process group): it goes on, and the bot ends it."""
    journal = open_journal(tmp_path / "j.sqlite")
    journal.write_behind_ahead()
    worker = journal._behind_ahead._process
    time.sleep(0.3)  # started and past its imports
    os.kill(worker.pid, signal.SIGINT)
    with journal.batched_orders():
        journal.add_equity_columns("r", _stamps(3000), [1.0] * 3000, [2.0] * 3000)
    with sqlite3.connect(tmp_path / "j.sqlite") as db:
        assert db.execute("SELECT count(*) FROM equity").fetchone()[0] == 3000
    journal.close()


def test_the_worker_says_each_batch_written_while_the_bot_waits(tmp_path: Path) -> None:
    """While a sync is read and not answered, each batch written before it says ``+`` (the bot's
    timeout counts from the last word); with no sync waiting, the worker writes silently."""
    import io
    from _queue import SimpleQueue

    from bot.journal.behind_worker import _END, SyncCount, serve

    open_journal(tmp_path / "j.sqlite").close()  # the schema
    rows = [("r", t, 1.0, 2.0, 1.0) for t in _stamps(10)]
    for waiting in (False, True):
        messages, syncs, reply = SimpleQueue(), SyncCount(), io.StringIO()
        for i in range(3):
            messages.put(("rows", [("equity", rows[i * 3 : i * 3 + 3])]))
        if waiting:
            messages.put(("sync", None))
            syncs.read = 1  # the reader thread has seen it
        messages.put(_END)
        serve(str(tmp_path / "j.sqlite"), messages, reply, 1.0, syncs)
        assert reply.getvalue() == ("+\n+\n+\nok\n" if waiting else "")


def test_a_worker_needs_a_cpu_of_its_own_besides_the_bots_helpers(monkeypatch) -> None:
    from bot.journal import write_behind

    monkeypatch.undo()  # the module's fixture stands in for the rule this test checks

    for cpus, helpers, expected in ((1, 0, False), (2, 0, True), (2, 1, False), (4, 1, True), (3, 2, False)):
        monkeypatch.setattr(write_behind.os, "sched_getaffinity", lambda _pid, n=cpus: set(range(n)))
        assert write_behind.worth_starting(helpers) is expected, (cpus, helpers)


def test_a_worker_that_cannot_start_leaves_the_journal_writing_itself(
    tmp_path: Path, monkeypatch, caplog
) -> None:
    from bot.journal import write_behind

    def refused(*_args, **_kwargs):
        raise OSError("no more processes")

    monkeypatch.setattr(write_behind.subprocess, "Popen", refused)
    journal = open_journal(tmp_path / "j.sqlite")
    journal.write_behind_ahead()
    assert journal._behind_ahead is None and "journal_worker_not_started" in caplog.text
    with journal.batched_orders():
        assert not journal.writes_behind
        journal.add_equity_columns("r", _stamps(10), [1.0] * 10, [2.0] * 10)
    assert journal.query("SELECT COUNT(*) FROM equity")[0][0] == 10
    journal.close()
