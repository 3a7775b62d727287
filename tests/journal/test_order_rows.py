"""A batch's order rows merged to one per order leave the same orders table as upserting every
row in turn (``bot.journal.order_rows``), with the journal's own schema and upsert."""

from __future__ import annotations

import sqlite3

from bot.journal.order_rows import merge_order_rows
from bot.journal.schema import MIGRATIONS
from bot.journal.store import _BUFFERED_SQL


def _row(
    coid: str, status: str, at: str, *, leg: str | None = None, filled: int = 0, run: str = "r"
) -> tuple:
    price = 10.0 + filled if filled else None
    # run_id, client_order_id, symbol, side, qty, type, limit, stop, protective, status, reason,
    # broker_order_id, filled_qty, filled_avg_price, created_at, updated_at, protective_stop, leg_order_id
    return (
        run,
        coid,
        "X",
        "buy",
        5,
        "market",
        None,
        None,
        0,
        status,
        f"{status} why",
        f"b-{coid}",
        filled,
        price,
        at,
        at,
        9.5,
        leg,
    )


def _orders(batches: list[list[tuple]], *, merged: bool) -> list[tuple]:
    db = sqlite3.connect(":memory:")
    for migration in MIGRATIONS:
        db.executescript(migration)
    for rows in batches:
        db.executemany(_BUFFERED_SQL["orders"], merge_order_rows(rows) if merged else rows)
    return db.execute("SELECT * FROM orders ORDER BY rowid").fetchall()


# pending -> new -> filled for several orders, interleaved; a leg id given once then absent; an
# order seen in an earlier batch and updated in a later one; two runs sharing a client order id
FIRST = [
    _row("a", "pending", "t1"),
    _row("b", "pending", "t2"),
    _row("a", "new", "t3", leg="leg-a"),
    _row("b", "rejected", "t4"),
    _row("c", "pending", "t5", run="other"),
    _row("a", "filled", "t6", filled=5),
    _row("c", "new", "t7", run="other"),
]
SECOND = [
    _row("c", "filled", "t8", filled=5, run="other", leg="leg-c"),
    _row("a", "canceled", "t9"),
    _row("d", "pending", "t10"),
    _row("c", "new", "t11", run="r"),
]


def test_merged_rows_leave_the_table_the_rows_one_by_one_leave():
    assert _orders([FIRST, SECOND], merged=True) == _orders([FIRST, SECOND], merged=False)


def test_each_order_is_written_once_per_batch_at_its_first_place():
    merged = merge_order_rows(FIRST)
    assert [(r[0], r[1]) for r in merged] == [("r", "a"), ("r", "b"), ("other", "c")]
    a = merged[0]
    assert (a[9], a[12], a[14], a[15], a[17]) == ("filled", 5, "t1", "t6", "leg-a")
    unique = [_row("x", "pending", "t1"), _row("y", "pending", "t2")]
    assert merge_order_rows(unique) is unique  # nothing to merge: the same list
