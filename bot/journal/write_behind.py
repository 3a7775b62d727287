"""Write-behind: a simulation's journal batches written by another process while it runs.

A replay journals every bar it saw and one equity row a step besides its orders: tens of thousands
of rows, whose writing (Python binding each value, then SQLite's B-tree inserts) took about a
third of a minute-bar replay. ``WriteBehind`` hands each batch to a worker process
(``bot.journal.behind_worker``), which writes it with a connection of its own while the replay goes
on, on another CPU; handing over costs the replay a pickle, a fraction of the write. A thread does
not do: the binding holds the interpreter's lock, and the writer waits up to the switch interval
for it after every statement. A worker is started only where a CPU is left for it
(``worth_starting``); elsewhere the journal writes its batches itself.

The contract stays the journal's: batches are written in the order handed over, each in one
transaction; ``sync`` returns once every batch handed over is committed, and raises the
``JournalError`` the journal's own write would have raised (naming the key and the file) for the
first batch the file refused. The ``Journal`` syncs before any write of its own and when the
simulation's block ends (``Journal.batched_orders``), so the file sees everything in the order it
happened. A worker that dies, or does not answer within ``SYNC_SECONDS``, is a ``JournalError``
too: nothing waits forever.

Standard library only.
"""

from __future__ import annotations

import io
import os
import pickle
import select
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from bot.errors import JournalError
from bot.journal.packed_stamps import PackedStamps
from bot.journal.refusal import unusable

#: how long a sync may wait for the worker (it may itself wait ``BUSY_SECONDS`` for a lock)
SYNC_SECONDS = 60.0
#: how long a frame may wait for room in the pipe, and the worker for its end
SEND_SECONDS = 30.0
_PIPE_BYTES = 1 << 20  # the pipe's room (Linux's default limit for F_SETPIPE_SZ), if granted
_F_SETPIPE_SZ = 1031  # fcntl's number on Linux (Python 3.11 has no name for it)
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding ``bot``
_WORKER = str(Path(__file__).resolve().with_name("behind_worker.py"))


class WriteBehind:
    """One worker process writing batches of ``Journal`` rows into the file at ``path``."""

    def __init__(self, path: Path, *, key: str, busy_seconds: float) -> None:
        self.path, self.key = path, key
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [_PACKAGE_ROOT, os.environ.get("PYTHONPATH")])),
        }
        # -S: no site-packages (the worker needs the standard library only); -P: not its own
        # folder first on the path (bot.journal's modules would shadow the standard library's)
        self._process = subprocess.Popen(
            [sys.executable, "-S", "-P", _WORKER, str(path), repr(busy_seconds)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self._stdin = self._process.stdin.fileno()
        self._stdout = self._process.stdout.fileno()
        _widen_pipe(self._stdin)
        os.set_blocking(self._stdin, False)  # every wait below has a deadline
        self._replies = b""
        self._failed: JournalError | None = None
        #: seconds the replay spent handing batches over and waiting for syncs
        self.wait_seconds = 0.0

    def send(self, batch: Iterable[tuple[str, list[tuple]]]) -> None:
        """Hand a batch over: ``(table, rows)`` pairs, written in one transaction, in this order."""
        self._send(("rows", [(table, rows) for table, rows in batch if rows]))

    def send_series(self, table: str, head: tuple, stamps: Sequence[str], columns: Sequence[list]) -> None:
        """Hand over rows still in columns (``Journal._series``): ``head``'s values, then a time
        and one value of each column a row; the worker makes the rows."""
        packed = (stamps.text, stamps.width) if isinstance(stamps, PackedStamps) else list(stamps)
        self._send(("series", (table, head, packed, columns)))

    def sync(self) -> None:
        """Return once every batch handed over is written; raise what the worker met."""
        if self._failed is not None:
            raise self._failed
        started = time.perf_counter()
        self._send(("sync", None))
        line = self._reply(SYNC_SECONDS)
        self.wait_seconds += time.perf_counter() - started
        if line != "ok":
            _, locked, text = (
                (line.split(" ", 2) + ["", ""])[:3] if line.startswith("error ") else ("", "0", line)
            )
            self._fail(JournalError(_unusable(self.key, self.path, text), passing=locked == "1"))

    def end(self) -> None:
        """Tell the worker nothing more comes: it writes what it was handed and exits on its own
        (``sync`` first, to know it was written); ``reap`` waits for it."""
        if not self._process.stdin.closed:
            self._process.stdin.close()

    def reap(self, timeout: float = SEND_SECONDS) -> None:
        """``end``, then wait for the worker to exit (killed past ``timeout``)."""
        self.end()
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process.stdout.close()

    def _send(self, message: tuple) -> None:
        if self._failed is not None:
            raise self._failed
        started = time.perf_counter()
        buffer = io.BytesIO()
        _PlainPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(message)
        body = buffer.getvalue()
        view = memoryview(len(body).to_bytes(8, "big") + body)
        deadline = time.monotonic() + SEND_SECONDS
        while view:
            try:
                view = view[os.write(self._stdin, view) :]
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([], [self._stdin], [], left)[1]:
                    self._fail(
                        JournalError(
                            f"{self.key}: {self.path}: the journal's writer took no rows for {SEND_SECONDS:g} s"
                        )
                    )
            except BrokenPipeError:
                self._fail(
                    JournalError(f"{self.key}: {self.path}: the journal's writer stopped ({self._exit()})")
                )
        self.wait_seconds += time.perf_counter() - started

    def _reply(self, timeout: float) -> str:
        """The worker's answer to a sync; ``timeout`` counts from its last word (a ``+`` line: a
        batch written), so a worker still writing a long queue is waited for."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self._stdout], [], [], left)[0]:
                    self._fail(
                        JournalError(
                            f"{self.key}: {self.path}: the journal's writer did not answer within {timeout:g} s"
                        )
                    )
                chunk = os.read(self._stdout, 4096)
                if not chunk:
                    self._fail(
                        JournalError(
                            f"{self.key}: {self.path}: the journal's writer stopped ({self._exit()})"
                        )
                    )
                self._replies += chunk
            line, _, self._replies = self._replies.partition(b"\n")
            if line != b"+":
                return line.decode("utf-8", "replace")
            deadline = time.monotonic() + timeout  # a batch written: slow, not stuck

    def _exit(self) -> str:
        try:
            code = self._process.wait(1.0)
        except subprocess.TimeoutExpired:
            return "still running"
        return f"exit code {code}"

    def _fail(self, error: JournalError) -> None:
        self._failed = error
        self._process.kill()
        raise error


class _PlainPickler(pickle.Pickler):
    """Pickles subclasses of float, int and str (NumPy's float64, a ``StrEnum``) as the plain
    values SQLite stores for them, so the worker, which has the standard library only, reads every
    frame. (Not ``marshal``: it writes a NumPy number, a buffer, as its raw bytes.)"""

    def reducer_override(self, obj):  # asked only for what is not an exact int, float, str, ...
        if isinstance(obj, float):
            return float, (float(obj),)
        if isinstance(obj, str):
            return str, (str.__str__(obj),)
        if isinstance(obj, int):
            return int, (int(obj),)
        return NotImplemented


def worth_starting(helpers: int = 0) -> bool:
    """Whether a worker can run beside the bot: a CPU of its own for this process besides the
    bot's and its ``helpers`` (other processes already working for the same run, such as the
    ``simulate`` command's plot worker). Without one it only takes turns with them, and the
    hand-over is a cost on top: on two CPUs beside the plot worker, which loads matplotlib while
    the run starts, the command took 1.62 s with a worker against 1.55 s for the tree before."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return cpus > 1 + helpers


def _widen_pipe(fd: int) -> None:
    """A pipe room enough for a replay's bars, so a batch handed over before the worker has
    started reading does not wait for it (the worker reads on a thread of its own afterwards)."""
    try:
        import fcntl

        fcntl.fcntl(fd, _F_SETPIPE_SZ, _PIPE_BYTES)
    except (ImportError, OSError):
        pass  # a smaller pipe only means a wait for the worker's first read


def _unusable(key: str, path: Path, text: str) -> str:
    return unusable(key, path, sqlite3.OperationalError(text))
