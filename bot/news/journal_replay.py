"""``JournalNewsReplay``: the headlines the bot itself recorded live, replayed point in time.

``--news journal`` (``journal.path``) or ``--news journal:PATH`` replays the ``headlines`` table
that the news job (``bot.news.ingest``) filled. A replayed headline is *known from* the moment the
bot first saw it: its ``fetched_at`` (the journal keeps the first sighting of a (source, guid)),
never the feed's claimed ``published_at`` when that is earlier, because feeds backdate items and
a decision must not see a story before the bot could have seen it. A claimed time *after* the
sighting (a feed clock running ahead) is kept: the live run, too, used it only from then. The
returned ``Headline`` carries that known-from time as both ``published_at`` and ``fetched_at``,
since the sentiment features window on ``published_at``.

What is replayed, and how:

- live sightings only: rows a simulation journaled from its own replay (source ``sample`` or
  ``csv:...``) are skipped; they were never seen live;
- each story once, from its first sighting: the same normalised title stored under another
  source or guid later (Alpaca after RSS, a re-published item) is dropped, as the live ingestor
  handed it out only once;
- symbols as stored with the headline (found at ingestion); a headline stored without symbols
  is market-wide unless ``matcher(title + summary)`` names some (as in ``CsvNewsReplay``).

The file is opened read-only for each ``headlines`` call (a daemon may be writing it in WAL
mode). Errors say what to do and exit with code 2: a missing file or a file that is not a
journal (``ConfigError``, naming ``news.replay``), a journal without live headlines, or none
first seen in the asked span (``DataError``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path

from bot.errors import ConfigError, DataError
from bot.journal.store import iso
from bot.news.base import Headline, ReplayNewsSource, title_key

#: finds the symbols a text is about (see ``bot.news.replay.Matcher``)
Matcher = Callable[[str], Iterable[str]]

# Sources a simulation writes back into the journal (``ReplayNewsSource`` names): not live news.
_REPLAYED = "(source = 'sample' OR source LIKE 'csv:%')"
# When the bot could first have known a row: ISO UTC text compares in time order.
_KNOWN = "MAX(fetched_at, COALESCE(published_at, fetched_at))"
_FIRST_SIGHTINGS = f"""
    SELECT * FROM (
        SELECT *, {_KNOWN} AS known_at,
               ROW_NUMBER() OVER (PARTITION BY COALESCE(title_key, py_title_key(title))
                                  ORDER BY {_KNOWN}, id) AS sighting
        FROM headlines WHERE NOT {_REPLAYED}
    ) WHERE sighting = 1 AND known_at >= ? AND known_at <= ? ORDER BY known_at, id
"""
_MIN_SCHEMA = 2  # title_key, label and published_estimated arrived in schema version 2


class JournalNewsReplay(ReplayNewsSource):
    """Headlines recorded in a journal file, known from their first sighting (module docstring).

    ``key`` names the config value in errors (``news.replay = 'journal'``). The constructor checks
    that the file is a journal holding live headlines, so a bad choice stops before a run starts.
    """

    synthetic = False

    def __init__(
        self, path: str | Path, *, key: str = "news.replay = 'journal'", matcher: Matcher | None = None
    ) -> None:
        self.path = Path(path)
        self.name = f"journal:{self.path}"
        self.key = key
        self.matcher = matcher
        count, first, last = self._span()
        if not count:
            raise DataError(
                f"{key}: journal {self.path} holds no live headlines yet; record some with "
                "`python -m bot news` or the daemon (`python -m bot run`)"
            )
        self.count, self.first_seen, self.last_seen = count, first, last

    def headlines(
        self, symbols: Sequence[str], start: datetime | None, end: datetime | None
    ) -> list[Headline]:
        lo = iso(start) if start else ""
        hi = iso(end) if end else "9999"
        rows = self._query(_FIRST_SIGHTINGS, (lo, hi))
        if not rows:
            span = f"{lo[:19] or 'the start'} and {hi[:19] if end else 'now'} UTC"
            held = f"{self.count} headlines first seen {self.first_seen[:19]} .. {self.last_seen[:19]} UTC"
            raise DataError(
                f"{self.key}: journal {self.path} holds no headlines first seen between {span} "
                f"(it holds {held})"
            )
        wanted = {s.upper() for s in symbols}
        out = []
        for row in rows:
            headline = self._headline(row)
            if not headline.symbols or wanted.intersection(headline.symbols):
                out.append(headline)
        return out

    def _headline(self, row: sqlite3.Row) -> Headline:
        known = datetime.fromisoformat(row["known_at"])
        summary = row["summary"] or ""
        symbols = tuple(s for s in (row["symbols"] or "").split(",") if s)
        if not symbols and self.matcher is not None:
            symbols = tuple(dict.fromkeys(self.matcher(f"{row['title']}\n{summary}")))
        return Headline(
            source=row["source"],
            guid=row["guid"],
            title=row["title"],
            published_at=known,
            fetched_at=known,
            summary=summary,
            link=row["link"] or "",
            symbols=symbols,
            published_estimated=bool(row["published_estimated"]),
            score=row["score"],
            label=row["label"],
            scorer_version=row["scorer_version"],
        )

    def _span(self) -> tuple[int, str, str]:
        """How many live headlines the journal holds, and its first and last known-from times."""
        version = self._query("PRAGMA user_version")[0][0]
        if version < _MIN_SCHEMA:
            raise DataError(
                f"{self.key}: journal {self.path} has schema version {version}; open it "
                "once with this bot (e.g. `python -m bot news`) to upgrade it"
            )
        sql = f"SELECT COUNT(*), MIN({_KNOWN}), MAX({_KNOWN}) FROM headlines WHERE NOT {_REPLAYED}"
        row = self._query(sql)[0]
        return row[0], row[1] or "", row[2] or ""

    def _query(self, sql: str, params: Sequence[str] = ()) -> list[sqlite3.Row]:
        """Rows of one read on a fresh read-only connection (never creates, migrates or locks the
        file for writers: a daemon may be writing it in WAL mode)."""
        if not self.path.is_file():
            raise ConfigError(f"{self.key}: no journal file at {self.path}")
        db = None
        try:
            # as_uri() escapes "?" and "#" in the path
            db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
            db.row_factory = sqlite3.Row
            db.create_function("py_title_key", 1, title_key, deterministic=True)
            db.execute("SELECT 1 FROM headlines LIMIT 1")  # not a journal: say so, not "no such table"
            return db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise ConfigError(f"{self.key}: cannot read {self.path} as a bot journal ({exc})") from None
        finally:
            if db is not None:
                db.close()
