"""One bulk insert on a connection and thread of its own, while the caller goes on.

A replay journals every bar it will replay before its first step: tens of thousands of rows whose
insert is nearly all SQLite's own work, during which Python's ``sqlite3`` releases the GIL
(``sqlite3_step``). Written on a second connection to the same WAL-mode file, in large statements,
that work runs on a second core while the replay runs on the first. The journal waits for it (and
raises its error, if any) before its own next write (``Journal._transaction``) and before it
closes, so the file sees the same writes in the same order as a synchronous insert, and a failed
insert is reported exactly as a failed flush would be (``JournalError`` naming the key and file).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from bot.journal.bulk import insert_many

#: rows per statement here: large statements keep the thread in SQLite (GIL released) for longer
#: stretches; 32,766 parameters is SQLite's limit since 3.32
_MAX_PARAMETERS = 32_000


class BackgroundInsert:
    """``sql`` (a plain insert) with ``rows`` into the journal at ``path``, in one transaction, on
    a daemon thread started at once; ``wait`` joins it and re-raises what it raised."""

    def __init__(self, path: Path, sql: str, rows: list[tuple], *, busy_seconds: float) -> None:
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._write, args=(path, sql, rows, busy_seconds), name="journal-bulk-insert", daemon=True
        )
        self._thread.start()

    def _write(self, path: Path, sql: str, rows: list[tuple], busy_seconds: float) -> None:
        try:
            db = sqlite3.connect(path, timeout=busy_seconds, isolation_level=None)
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    per_statement = max(1, _MAX_PARAMETERS // max(1, len(rows[0]) if rows else 1))
                    insert_many(db, sql, rows, rows_per_statement=per_statement)
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
            finally:
                db.close()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread, raised there
            self._error = exc

    def wait(self) -> None:
        """Block until the insert is done; raise its error (a ``sqlite3.Error``) if it failed."""
        self._thread.join()
        error, self._error = self._error, None
        if error is not None:
            raise error
