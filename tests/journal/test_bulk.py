"""``insert_many`` (multi-row statements) leaves the same table as one statement a row."""

from __future__ import annotations

import sqlite3

import pytest

from bot.journal.bulk import insert_many


def _table(sql: str, rows: list[tuple], *, bulk: bool) -> list[tuple]:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (k TEXT NOT NULL, v REAL NOT NULL, PRIMARY KEY (k)) WITHOUT ROWID")
    if bulk:
        insert_many(db, sql, rows)
    else:
        db.executemany(sql, rows)
    return db.execute("SELECT k, v FROM t ORDER BY k").fetchall()


# 450 rows: two whole statements of 200 and 50 left over, with keys repeated within a statement,
# across statements and into the leftovers, each time with another value
ROWS = [(f"k{i % 317:03d}", float(i)) for i in range(450)]


@pytest.mark.parametrize("verb", ["INSERT OR IGNORE", "INSERT OR REPLACE"])
def test_multi_row_statements_keep_or_ignore_and_or_replace_row_by_row(verb):
    sql = f"{verb} INTO t VALUES (?,?)"
    assert _table(sql, ROWS, bulk=True) == _table(sql, ROWS, bulk=False)
    assert len(_table(sql, ROWS, bulk=True)) == 317


def test_an_upsert_and_a_small_batch_go_row_by_row():
    upsert = "INSERT INTO t VALUES (?,?) ON CONFLICT (k) DO UPDATE SET v = t.v + excluded.v"
    assert _table(upsert, ROWS, bulk=True) == _table(upsert, ROWS, bulk=False)
    few = ROWS[:5]
    assert _table("INSERT INTO t VALUES (?,?)", few, bulk=True) == sorted(few)


@pytest.mark.parametrize("bulk", [True, False])
def test_a_bad_row_fails_the_batch_as_it_would_alone(bulk):
    good = [(f"k{i:03d}", float(i)) for i in range(300)]
    rows = [*good[:150], ("bad", None), *good[150:]]  # inside the first multi-row statement
    with pytest.raises(sqlite3.IntegrityError):
        _table("INSERT INTO t VALUES (?,?)", rows, bulk=bulk)
