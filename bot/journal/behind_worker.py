"""The write-behind worker: a process that writes a simulation's journal batches while the
simulation goes on (``bot.journal.write_behind`` starts it and talks to it).

Run as ``python -S -P bot/journal/behind_worker.py JOURNAL_PATH BUSY_SECONDS`` with the folder
holding ``bot`` on ``PYTHONPATH`` (a script, not ``-m``, and no site-packages: it starts in half
the time). Reads frames from stdin, each an 8-byte big-endian length, then a pickle:

- ``("rows", [(table, rows), ...])``: one batch, written in one transaction (``write_batch``:
  what ``Journal.flush`` writes);
- ``("series", (table, head, stamps, columns))``: one table's rows still in columns
  (``Journal._series``), made here (``stamps``: a list of times, or ``(text, width)`` for
  ``PackedStamps``);
- ``("sync", None)``: asks for one line on stdout once every batch before it is committed:
  ``ok``, or ``error LOCKED MESSAGE`` for the first write the file refused (LOCKED 1 when it was
  a lock held past the busy timeout); a ``+`` line comes before it for each batch written while
  the bot waits.

After an error nothing more is written; end of input ends the worker.

A thread reads stdin into a queue while the main thread writes, so the simulation never waits for
a batch to be written before it can hand over the next. The frames come from the bot's own
process over a pipe only it holds (pickle is safe there and nowhere else).

Standard library only, and little of it (``_pickle`` and ``_queue``, not the modules around
them): it starts in about 30 ms.
"""

from __future__ import annotations

import _signal
import os
import sqlite3
import sys
import threading
from _pickle import loads  # ``pickle``'s own, without importing ``pickle`` (its ``re`` among them)
from _queue import SimpleQueue  # ``queue``'s own, without importing ``queue``
from itertools import repeat

from bot.journal.batch_write import write_batch

_END = None  # what the reader queues at the end of input


class SyncCount:
    """Syncs read from the input (by the reader thread) and answered (by the writer): while one
    is read and not yet answered, the bot is waiting, and each batch written says so (``+``)."""

    def __init__(self) -> None:
        self.read = 0  # written by the reader thread only
        self.answered = 0  # written by the writer only

    @property
    def waiting(self) -> bool:
        return self.read > self.answered


def read_frames(stream, out: SimpleQueue, syncs: SyncCount) -> None:
    """Put each frame's message on ``out``, then ``_END`` (end of input, or a torn frame)."""
    try:
        while True:
            head = stream.read(8)
            if len(head) < 8:
                return
            body = stream.read(int.from_bytes(head, "big"))
            message = loads(body)
            if message[0] == "sync":
                syncs.read += 1
            out.put(message)
    finally:
        out.put(_END)


def serve(path: str, messages: SimpleQueue, reply, busy_seconds: float, syncs: SyncCount) -> None:
    """Write each batch from ``messages``; answer each sync on ``reply`` (a text stream), and
    while the bot waits for one, say ``+`` after each batch written before it (the bot's timeout
    counts from the last word: a long queue, or a worker the machine gives little CPU, is slow
    but not stuck)."""
    error: str | None = None
    db = None
    try:
        db = sqlite3.connect(path, timeout=busy_seconds, isolation_level=None)
        db.execute("PRAGMA synchronous=NORMAL")  # as the Journal's own connection (WAL)
    except sqlite3.Error as exc:
        error = _error_line(exc)
    while (message := messages.get()) is not _END:
        kind, body = message
        if kind == "sync":
            reply.write((error or "ok") + "\n")
            reply.flush()
            syncs.answered += 1
        elif error is None and db is not None:
            error = _write(db, body if kind == "rows" else [_series_rows(*body)])
            if syncs.waiting:
                reply.write("+\n")
                reply.flush()
    if db is not None:
        db.close()


def _series_rows(table: str, head: tuple, stamps, columns: list[list]) -> tuple[str, list[tuple]]:
    """A ``series`` frame's rows (``Journal._series``): ``head``'s values, a time, one value a column."""
    if isinstance(stamps, tuple):  # PackedStamps' (text, width)
        text, width = stamps
        stamps = (text[i : i + width] for i in range(0, len(text), width))
    return table, list(zip(*map(repeat, head), stamps, *columns))


def _write(db: sqlite3.Connection, batch: list[tuple[str, list[tuple]]]) -> str | None:
    try:
        db.execute("BEGIN IMMEDIATE")
        write_batch(db, batch)
        db.execute("COMMIT")
        return None
    except sqlite3.Error as exc:
        if db.in_transaction:
            try:
                db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the first error is the one worth reporting
        return _error_line(exc)


def _error_line(exc: sqlite3.Error) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    locked = "locked" in text or "busy" in text
    return f"error {int(locked)} {text}"


def main(argv: list[str] | None = None) -> None:
    # Ctrl-C reaches the whole process group: the bot stops its run and ends this worker by
    # closing its input, and what it was handed is still written (``_signal``: not ``signal``'s
    # enums, a start-up cost)
    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    args = sys.argv[1:] if argv is None else argv
    path, busy_seconds = args[0], float(args[1])
    messages: SimpleQueue = SimpleQueue()
    syncs = SyncCount()
    threading.Thread(target=read_frames, args=(sys.stdin.buffer, messages, syncs), daemon=True).start()
    serve(path, messages, sys.stdout, busy_seconds, syncs)
    sys.stdout.flush()
    os._exit(0)  # everything is written and the file closed: the interpreter's teardown only costs


if __name__ == "__main__":
    main()
