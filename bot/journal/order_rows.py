"""A batch's order rows merged to one row per order, the table left exactly as before.

A simulation buffers its orders (``Journal.batched_orders``): each order is recorded pending, then
with the broker's answer, then filled, three rows upserted one statement a row. Upserted in order,
the first row inserts and each later one updates only the columns the orders upsert names (status,
reason, broker id, fill, ``updated_at``; a leg id only where the later row has one), so the merged
row (the first row with those columns taken from the later ones) leaves the same table: one
statement an order instead of three. ``tests/journal/test_order_rows.py`` checks the tables match.
"""

from __future__ import annotations

# positions in the orders insert (``bot.journal.batch_write.BUFFERED_SQL["orders"]``)
_KEY = (0, 1)  # run_id, client_order_id
# status, reason, broker_order_id, filled_qty, filled_avg_price, updated_at
_UPDATED = (9, 10, 11, 12, 13, 15)
_LEG = 17  # leg_order_id: COALESCE(excluded.leg_order_id, orders.leg_order_id)


def merge_order_rows(rows: list[tuple]) -> list[tuple]:
    """One row per (run_id, client_order_id), at its first row's place (see the module docstring)."""
    merged: dict[tuple, list] = {}
    for row in rows:
        key = (row[_KEY[0]], row[_KEY[1]])
        first = merged.get(key)
        if first is None:
            merged[key] = list(row)
            continue
        for i in _UPDATED:
            first[i] = row[i]
        if row[_LEG] is not None:
            first[_LEG] = row[_LEG]
    if len(merged) == len(rows):
        return rows
    return [tuple(row) for row in merged.values()]
