"""The SQLite journal: everything the bot saw and did, in one file (WAL mode).

Schema versions live in ``PRAGMA user_version``; ``MIGRATIONS[i]`` moves a file from version i to
i + 1, so an old journal is upgraded in place on open.

Writes of bars, predictions, decisions and equity snapshots are buffered and written in one
transaction per ``batch_size`` rows (journaling must not dominate a simulation). Orders, fills and
control state are *durable* writes: they flush the buffer and commit before returning, because an
order must be on disk before it is sent and a fill must never be lost. That is the contract of
the live modes (the daemon, dry run and paper), and the default.

A simulation turns it off (``durable_orders = False``, see ``batched_orders``): its orders and fills
are buffered with the rest and written, in the order they happened, with the next batch, at the
end of the run, or before any durable write (runs, control). Nothing real is sent by a simulation,
and a crashed one is simply run again, so a commit per order bought nothing there but time (three
commits per order: pending, the broker's answer, the fill). A simulation also hands its batches to
a worker process that writes them while the run goes on (``write_behind_ahead``, then
``batched_orders``; ``bot.journal.write_behind``): the same rows, in the same order, all written
when the block ends, and a write the file refuses is the same ``JournalError``.

Imports only the standard library, so light commands (``status``) stay fast.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import JournalError
from bot.journal.batch_write import BUFFERED_SQL as _BUFFERED_SQL
from bot.journal.batch_write import write_batch
from bot.journal.reads import JournalReads
from bot.journal.records import iso, now_iso
from bot.journal.refusal import BUSY_SECONDS, unusable
from bot.journal.schema import MIGRATIONS, SCHEMA_VERSION  # noqa: F401  (re-exported)

if TYPE_CHECKING:  # imported where a simulation starts one: subprocess and pickle cost the light
    # commands (status, kill) about 11 ms of every start
    from bot.journal.write_behind import WriteBehind

#: while a write-behind worker takes the batches, one is handed over every this many rows: soon
#: enough that the worker keeps pace with the run and little is left for it when the run ends
BEHIND_BATCH_ROWS = 2048


def utc_now() -> datetime:
    return datetime.now(UTC)


class Journal(JournalReads):
    """One open journal file. Not thread-safe: one writer per process (the daemon serialises),
    besides a simulation's write-behind worker, which writes only while this journal waits for it.

    Writes are here; the read methods come from ``JournalReads`` (``bot.journal.reads``)."""

    def __init__(
        self, path: Path, *, batch_size: int = 5000, readonly: bool = False, key: str = "journal.path"
    ) -> None:
        """Open the journal; ``JournalError`` (exit 2, naming ``key`` and the file) when the file is
        not SQLite, is damaged, is empty (read-only opens), was written by a newer bot, or stays
        locked by another process for more than ``BUSY_SECONDS``."""
        self.path = path
        self.key = key
        self.batch_size = batch_size
        self._buffers: dict[str, list[tuple]] = {name: [] for name in _BUFFERED_SQL}
        self._buffered_rows = 0
        #: seconds this process spent on journal writes: writing, or handing batches to the
        #: write-behind worker and waiting for it (a run's ``journal_seconds``; benchmarks report
        #: journaling's share)
        self.write_seconds = 0.0
        #: orders and fills committed one by one before the call returns (the live contract); a
        #: simulation turns it off for its run (``batched_orders``)
        self.durable_orders = True
        #: a worker process writing the batches (``write_behind``): started ahead, in use inside
        #: ``batched_orders``
        self._behind: WriteBehind | None = None
        self._behind_ahead: WriteBehind | None = None
        self._behind_ended: list[WriteBehind] = []  # told to end, not yet waited for (``close``)
        self._db: sqlite3.Connection | None = None
        try:
            self._open(path, readonly)
        except (sqlite3.DatabaseError, JournalError) as exc:  # OperationalError ("locked") included
            if self._db is not None:
                self._db.close()
            if isinstance(exc, JournalError):
                raise
            raise JournalError(unusable(key, path, exc)) from None
        self._db.row_factory = sqlite3.Row

    def _open(self, path: Path, readonly: bool) -> None:
        if readonly:
            self._db = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, timeout=BUSY_SECONDS, check_same_thread=False
            )
            version = self._check_readable()
            if version == 0:
                raise JournalError(
                    f"{self.key}: {path} is empty: not a journal yet (a simulation or the daemon "
                    "creates one; move the file aside)"
                )
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            # the daemon hands the journal to its one worker thread (jobs never overlap): no sharing
            self._db = sqlite3.connect(
                path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False
            )
            self._check_readable()
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a process crash (not a power cut) at a fraction of FULL's cost
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()

    def _check_readable(self) -> int:
        """Read the header and the schema table (what a damaged or foreign file fails first);
        refuse a schema newer than this bot's. Returns the schema version."""
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if version > SCHEMA_VERSION:
            raise JournalError(
                f"{self.key}: {self.path} was written by a newer bot (journal schema {version}, "
                f"this bot reads up to {SCHEMA_VERSION}); upgrade the bot"
            )
        return version

    # -- schema ---------------------------------------------------------------------------------

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        for target in range(version, SCHEMA_VERSION):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for statement in _split_sql(MIGRATIONS[target]):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {target + 1}")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def schema_version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    # -- buffered writes ------------------------------------------------------------------------

    def _buffer(self, table: str, rows: Iterable[tuple]) -> None:
        buffer = self._buffers[table]
        before = len(buffer)
        buffer.extend(rows)
        self._buffered_rows += len(buffer) - before
        if self._buffered_rows >= (self.batch_size if self._behind is None else BEHIND_BATCH_ROWS):
            self.flush()

    def flush(self) -> None:
        """Write every buffered row in one transaction (inside ``batched_orders`` with a
        write-behind worker: hand them to it, see ``write_behind``)."""
        if not self._buffered_rows:
            return
        if self._behind is not None:
            self._behind.send(self._buffers.items())
            for rows in self._buffers.values():
                rows.clear()
            self._buffered_rows = 0
            return
        started = time.perf_counter()
        with self._transaction():
            self._write_buffers()
        self.write_seconds += time.perf_counter() - started

    def make_room_after_refusal(self) -> int:
        """After the file refused a write, give one last small durable write (the run's end) its
        best chance: drop the buffered rows (bars, predictions, decisions, equity), which were
        refused and would be again, and move the write-ahead log into the database file, which
        empties the log (a log at its size limit refuses even a one-row update). Returns how many
        rows were dropped; a checkpoint the file refuses too is left at that."""
        dropped = sum(len(rows) for rows in self._buffers.values())
        for rows in self._buffers.values():
            rows.clear()
        self._buffered_rows = 0
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            pass  # nothing more to try: the caller says the run could not be marked
        return dropped

    def _write_buffers(self) -> None:
        write_batch(self._db, self._buffers.items())
        for rows in self._buffers.values():
            rows.clear()
        self._buffered_rows = 0

    def _transaction(self) -> _Transaction:
        if self._behind is not None:
            self.flush()
            self._behind.sync()  # the worker's batches first: the file sees events in their order
        return _Transaction(self)

    def add_bars(self, source: str, symbol: str, timeframe: str, rows: Iterable[tuple]) -> None:
        """rows: (ts_iso, open, high, low, close, volume)."""
        self._buffer("bars", ((source, symbol, timeframe, *row) for row in rows))

    def add_bar_columns(
        self, source: str, symbol: str, timeframe: str, stamps: Sequence[str], columns: Sequence[list[float]]
    ) -> None:
        """``add_bars`` for a whole series at once: ``stamps`` (``iso`` times, e.g. ``PackedStamps``)
        and the open, high, low, close and volume ``columns`` (a replay's bars; zip makes the
        rows, not a Python loop)."""
        self._series("bars", (source, symbol, timeframe), stamps, columns)

    def add_prediction(self, run_id: str, ts: datetime, symbol: str, model: str, value: float) -> None:
        self._buffer("predictions", [(run_id, iso(ts), symbol, model, value)])

    def add_decision(
        self,
        run_id: str,
        ts: datetime,
        *,
        strategy: str,
        symbol: str,
        target_weight: float | None,
        current_qty: int,
        requested_qty: int,
        approved_qty: int,
        verdict: str,
        rule: str | None,
        reason: str | None,
        client_order_id: str | None,
    ) -> None:
        row = (
            run_id,
            iso(ts),
            strategy,
            symbol,
            target_weight,
            current_qty,
            requested_qty,
            approved_qty,
            verdict,
            rule,
            reason,
            client_order_id,
        )
        self._buffer("decisions", [row])

    def add_equity(
        self, run_id: str, ts: datetime, cash: float, equity: float, positions_value: float
    ) -> None:
        self._buffer("equity", [(run_id, iso(ts), cash, equity, positions_value)])

    def add_equity_columns(
        self, run_id: str, stamps: Sequence[str], cash: list[float], equity: list[float]
    ) -> None:
        """Many equity snapshots at once (a replay's): their ``iso`` times, cash and equity."""
        positions = [e - c for e, c in zip(equity, cash)]  # equity - cash, as add_equity writes it
        self._series("equity", (run_id,), stamps, [cash, equity, positions])

    def _series(self, table: str, head: tuple, stamps: Sequence[str], columns: Sequence[list]) -> None:
        """Rows of ``head``'s values, then a time and one value of each column: buffered, or with a
        write-behind worker handed over as they are (the worker makes the rows)."""
        if self._behind is not None:
            self.flush()  # what came before goes first
            self._behind.send_series(table, head, stamps, columns)
            return
        self._buffer(table, zip(*map(repeat, head), stamps, *columns))

    # -- durable writes -------------------------------------------------------------------------

    def _durable(self, sql: str, params: Sequence[Any]) -> None:
        started = time.perf_counter()
        with self._transaction():
            self._write_buffers()  # keep the journal's order of events
            self._db.execute(sql, params)
        self.write_seconds += time.perf_counter() - started

    def start_run(
        self,
        run_id: str,
        mode: str,
        *,
        source: str,
        synthetic: bool,
        strategy: str,
        symbols: Sequence[str],
        timeframe: str,
        config: dict[str, Any],
    ) -> None:
        self._durable(
            "INSERT INTO runs (run_id, mode, started_at, source, synthetic, strategy, symbols, timeframe,"
            " config) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                run_id,
                mode,
                iso(utc_now()),
                source,
                int(synthetic),
                strategy,
                ",".join(symbols),
                timeframe,
                json.dumps(config, default=str),
            ),
        )

    def reopen_run(self, run_id: str) -> None:
        """A restarted daemon carries on with its unfinished run (same account, same order ids)."""
        self._durable("UPDATE runs SET status = 'running', ended_at = NULL WHERE run_id = ?", (run_id,))

    def end_run(self, run_id: str, status: str, summary: dict[str, Any] | None = None) -> None:
        self._durable(
            "UPDATE runs SET ended_at = ?, status = ?, summary = ? WHERE run_id = ?",
            (iso(utc_now()), status, json.dumps(summary, default=str) if summary else None, run_id),
        )

    def record_order(self, run_id: str, order: Any) -> None:
        """Insert or update an order (a ``bot.broker.base.Order``); committed before returning
        unless ``durable_orders`` is off (a simulation)."""
        req = order.request
        now = now_iso()
        row = (
            run_id,
            req.client_order_id,
            req.symbol,
            str(req.side),
            req.qty,
            str(req.type),
            req.limit_price,
            req.stop_price,
            int(order.protective),
            str(order.status),
            order.reason,
            order.broker_order_id,
            order.filled_qty,
            order.filled_avg_price,
            now,
            now,
            req.protective_stop,
            order.leg_order_id or None,
        )
        if self.durable_orders:
            self._durable(_BUFFERED_SQL["orders"], row)
        else:
            self._buffer("orders", [row])

    def record_fill(self, run_id: str, fill: Any) -> None:
        """Append a fill (a ``bot.broker.base.Fill``); committed before returning unless
        ``durable_orders`` is off (a simulation)."""
        row = (
            run_id,
            fill.client_order_id,
            iso(fill.ts),
            fill.symbol,
            str(fill.side),
            fill.qty,
            fill.price,
            fill.commission,
        )
        if self.durable_orders:
            self._durable(_BUFFERED_SQL["fills"], row)
        else:
            self._buffer("fills", [row])

    def write_behind_ahead(self, *, helpers: int = 0, busy_seconds: float = BUSY_SECONDS) -> None:
        """Start a write-behind worker now, for the next ``batched_orders`` block to hand its
        batches to (``bot.journal.write_behind``); a simulation starts it first thing, so that the
        worker is up by the time the first rows come. Where no worker can start, or no CPU is
        left for it besides the bot's and its ``helpers`` (``worth_starting``), the journal writes
        its batches itself, as always. ``busy_seconds``: how long the worker waits for another
        process's lock."""
        from bot.journal import write_behind

        if self._behind_ahead is None and write_behind.worth_starting(helpers):
            try:
                self._behind_ahead = write_behind.WriteBehind(
                    self.path, key=self.key, busy_seconds=busy_seconds
                )
            except OSError as exc:  # the run goes on, this process writing its batches
                import logging

                logging.getLogger(__name__).warning("journal_worker_not_started: %s", exc)
                self._behind_ahead = None

    @property
    def writes_behind(self) -> bool:
        """Whether a write-behind worker takes the batches now (inside ``batched_orders``)."""
        return self._behind is not None

    @contextmanager
    def batched_orders(self) -> Iterator[None]:
        """Within the block, orders and fills are buffered like bars (a simulation's run; see the
        module docstring), and handed to the write-behind worker if one was started
        (``write_behind_ahead``); on leaving it, everything buffered is written and the durable
        contract is back."""
        previous = self.durable_orders
        self.durable_orders = False
        self._behind, self._behind_ahead = self._behind_ahead, None
        try:
            yield
        except BaseException:
            self.durable_orders = previous
            self._stop_behind()  # what it was handed is still written; the rest stays buffered
            raise
        self.durable_orders = previous
        behind = self._behind
        if behind is not None:
            try:
                self.flush()
                behind.sync()
            finally:
                self.write_seconds += behind.wait_seconds
                self._stop_behind(wait=False)  # its exit is waited for by ``close``, not the run
        self.flush()

    def _stop_behind(self, *, wait: bool = True) -> None:
        """End the write-behind workers (each writes what it was handed first)."""
        for behind in (self._behind, self._behind_ahead):
            if behind is not None:
                behind.end()
                self._behind_ended.append(behind)
        self._behind = self._behind_ahead = None
        if wait:
            for behind in self._behind_ended:
                behind.reap()
            self._behind_ended.clear()

    def record_headlines(self, headlines: Iterable[Any]) -> int:
        """Store headlines (``bot.news.base.Headline``), committed before returning.

        A headline already stored under the same (source, guid) is left as it was (the first
        sighting wins, so a replay sees what the live run saw). Returns how many were new.
        """
        rows = [
            (
                h.source,
                h.guid,
                iso(h.published_at),
                iso(h.fetched_at),
                h.title,
                h.summary,
                h.link,
                ",".join(h.symbols),
                h.score,
                h.scorer_version,
                int(h.published_estimated),
                h.label,
                h.key,
            )
            for h in headlines
        ]
        if not rows:
            return 0
        started = time.perf_counter()
        with self._transaction():
            self._write_buffers()
            before = self._db.total_changes
            self._db.executemany(
                "INSERT OR IGNORE INTO headlines (source, guid, published_at, fetched_at, title, summary,"
                " link, symbols, score, scorer_version, published_estimated, label, title_key)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            inserted = self._db.total_changes - before
        self.write_seconds += time.perf_counter() - started
        return inserted

    def known_title_keys(
        self, keys: Iterable[str], *, source: str | None = None, since: datetime | None = None
    ) -> set[str]:
        """Which of ``keys`` (normalised titles) the journal already holds: from any source, or
        from ``source`` alone, fetched at or after ``since`` when given."""
        keys = list(set(keys))
        found: set[str] = set()
        where, extra = "", []
        if source is not None:
            where += " AND source = ?"
            extra.append(source)
        if since is not None:
            where += " AND fetched_at >= ?"
            extra.append(iso(since))
        for i in range(0, len(keys), 500):  # SQLite caps the number of bound parameters
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT DISTINCT title_key FROM headlines WHERE title_key IN ({marks}){where}",
                [*chunk, *extra],
            )
            found.update(r[0] for r in rows)
        return found

    def known_guids(self, source: str, guids: Sequence[str]) -> set[str]:
        """Which of ``guids`` the journal holds for ``source``."""
        found: set[str] = set()
        unique = list(set(guids))
        for i in range(0, len(unique), 500):
            chunk = unique[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT guid FROM headlines WHERE source = ? AND guid IN ({marks})", [source, *chunk]
            )
            found.update(r[0] for r in rows)
        return found

    def headlines_between(self, start: datetime | None, end: datetime | None) -> list[sqlite3.Row]:
        """Stored headlines published in [start, end], oldest first."""
        lo = iso(start) if start else ""
        hi = iso(end) if end else "9999"
        return self._db.execute(
            "SELECT * FROM headlines WHERE published_at >= ? AND published_at <= ? ORDER BY published_at, id",
            (lo, hi),
        ).fetchall()

    def set_control(self, key: str, value: str, *, by: str, reason: str = "") -> None:
        self._durable(
            "INSERT INTO control VALUES (?,?,?,?,?) ON CONFLICT (key) DO UPDATE SET"
            " value = excluded.value, updated_at = excluded.updated_at,"
            " updated_by = excluded.updated_by, reason = excluded.reason",
            (key, value, iso(utc_now()), by, reason),
        )

    # -- bar cache (appended for bot.data.alpaca_feed) --------------------------------------------

    def cached_bars(
        self, source: str, symbol: str, timeframe: str, start: datetime, end: datetime
    ) -> list[sqlite3.Row] | None:
        """Stored bars (ts, open, high, low, close, volume) with ts in [start, end], oldest first.

        None when no single range stored by ``store_cached_bars`` covers [start, end] (the cache
        cannot tell a gap in the market from a gap in what was downloaded). ``[]`` means the span
        is covered and holds no bar.
        """
        covered = self._db.execute(
            "SELECT 1 FROM bar_cache_ranges WHERE source = ? AND symbol = ? AND timeframe = ?"
            " AND start_ts <= ? AND end_ts >= ? LIMIT 1",
            (source, symbol, timeframe, iso(start), iso(end)),
        ).fetchone()
        if covered is None:
            return None
        return self._db.execute(
            "SELECT ts, open, high, low, close, volume FROM bars WHERE source = ? AND symbol = ?"
            " AND timeframe = ? AND ts >= ? AND ts <= ? ORDER BY ts",
            (source, symbol, timeframe, iso(start), iso(end)),
        ).fetchall()

    def store_cached_bars(
        self,
        source: str,
        symbol: str,
        timeframe: str,
        start: datetime,
        end: datetime,
        rows: Iterable[tuple],
        *,
        covered_end: datetime | None = None,
    ) -> None:
        """Replace the stored bars in [start, end] by ``rows`` (ts_iso, open, high, low, close, volume).

        The span [start, covered_end or end] is then recorded as complete, so ``cached_bars`` serves
        it; pass an earlier ``covered_end`` when the tail of the download may still change (bars of
        today). Committed before returning. Bounds should be whole seconds (the text compare of
        ``iso`` spellings is exact only then).
        """
        covered_end = end if covered_end is None else min(end, covered_end)
        started = time.perf_counter()
        with self._transaction():
            self._write_buffers()
            self._db.execute(
                "DELETE FROM bars WHERE source = ? AND symbol = ? AND timeframe = ? AND ts >= ? AND ts <= ?",
                (source, symbol, timeframe, iso(start), iso(end)),
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO bars VALUES (?,?,?,?,?,?,?,?,?)",
                ((source, symbol, timeframe, *row) for row in rows),
            )
            if covered_end >= start:
                self._db.execute(
                    "INSERT INTO bar_cache_ranges VALUES (?,?,?,?,?,?)",
                    (source, symbol, timeframe, iso(start), iso(covered_end), iso(utc_now())),
                )
        self.write_seconds += time.perf_counter() - started

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the database file now, without waiting for any reader
        (``PASSIVE``), so that ``close`` has little left to copy: a command calls it while it
        waits for something else (``simulate``: while its plot is drawn). A checkpoint the file
        refuses is left to ``close``, which tries again."""
        try:
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:
            pass

    def close(self) -> None:
        try:
            self._stop_behind()
            self.flush()
        finally:
            self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Transaction:
    """One write transaction. A write the file refuses (disk full, I/O error, read-only, locked
    past ``BUSY_SECONDS``, damage found mid-run) becomes a ``JournalError`` naming the key and the
    file; the transaction is rolled back, so the journal keeps every earlier write intact."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._db = journal._db

    def __enter__(self) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self._refused(exc) from None

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self._db.execute("COMMIT")
                return
            except sqlite3.OperationalError as commit_failed:
                exc = commit_failed
        if self._db.in_transaction:  # SQLite may have rolled back by itself (e.g. when the disk filled)
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.OperationalError:
                pass  # the original error is the one worth reporting
        if isinstance(exc, sqlite3.OperationalError):
            raise self._refused(exc) from None
        # any other exception propagates as it is

    def _refused(self, exc: sqlite3.OperationalError) -> JournalError:
        locked = "locked" in str(exc) or "busy" in str(exc)
        return JournalError(unusable(self._journal.key, self._journal.path, exc), passing=locked)


def _split_sql(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def open_journal(path: Path, *, batch_size: int = 5000, key: str = "journal.path") -> Journal:
    """Open (creating and migrating as needed) the journal at ``path``; ``key`` names it in errors."""
    return Journal(path, batch_size=batch_size, key=key)
