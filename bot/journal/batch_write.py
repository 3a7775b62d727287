"""The journal's buffered rows and how a batch of them is written (by ``Journal.flush``, and by
the write-behind worker, ``bot.journal.behind_worker``, which writes a simulation's batches in a
process of its own). Standard library only."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from bot.journal.bulk import insert_many
from bot.journal.order_rows import merge_order_rows

#: the insert of each buffered table, as its rows are made (``Journal.add_*``, ``record_*``)
BUFFERED_SQL = {
    "bars": "INSERT OR IGNORE INTO bars VALUES (?,?,?,?,?,?,?,?,?)",
    "predictions": "INSERT INTO predictions VALUES (?,?,?,?,?)",
    "decisions": "INSERT INTO decisions (run_id, ts, strategy, symbol, target_weight, current_qty,"
    " requested_qty, approved_qty, verdict, rule, reason, client_order_id)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
    "equity": "INSERT OR REPLACE INTO equity VALUES (?,?,?,?,?)",
    # only while ``durable_orders`` is off (a simulation); orders before fills, each in its own order
    "orders": "INSERT INTO orders (run_id, client_order_id, symbol, side, qty, type, limit_price,"
    " stop_price, protective, status, reason, broker_order_id, filled_qty, filled_avg_price,"
    " created_at, updated_at, protective_stop, leg_order_id)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT (run_id, client_order_id) DO UPDATE SET status = excluded.status,"
    " reason = excluded.reason, broker_order_id = excluded.broker_order_id,"
    " filled_qty = excluded.filled_qty, filled_avg_price = excluded.filled_avg_price,"
    " updated_at = excluded.updated_at,"
    " leg_order_id = COALESCE(excluded.leg_order_id, orders.leg_order_id)",
    "fills": "INSERT INTO fills (run_id, client_order_id, ts, symbol, side, qty, price, commission)"
    " VALUES (?,?,?,?,?,?,?,?)",
}


def write_batch(db: sqlite3.Connection, batch: Iterable[tuple[str, list[tuple]]]) -> None:
    """Insert each table's rows (``BUFFERED_SQL``), tables in ``BUFFERED_SQL``'s order: bars,
    predictions, decisions, equity, then orders before fills, each in the order they happened.
    Inside the caller's transaction."""
    for table, rows in batch:
        if rows:
            # an order recorded several times in a batch is upserted once (same table)
            insert_many(db, BUFFERED_SQL[table], merge_order_rows(rows) if table == "orders" else rows)
