"""Replayed headlines for simulations: the sample market's news, or a CSV file of headlines.

Both sources implement ``ReplayNewsSource`` (see ``bot.news.base``): ``headlines(symbols, start,
end)`` gives every headline published in ``[start, end]`` that concerns one of ``symbols`` or is
market-wide (``symbols == ()``), oldest first. A replayed headline's ``fetched_at`` is its
``published_at``: in a replay the bot "sees" a headline the moment it is published, never earlier.

``make_news_replay`` builds the source named by ``[news] replay`` ('sample', 'none', 'csv:FILE',
'journal' or 'journal:PATH'; the journal's headlines are known from their first sighting instead,
see ``bot.news.journal_replay``).
"""

from __future__ import annotations

import bisect
import csv
import hashlib
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from bot.calendar.timeframes import NEW_YORK
from bot.errors import ConfigError, DataError
from bot.news.base import Headline, ReplayNewsSource, Scorer

if TYPE_CHECKING:
    from bot.config import Config
    from bot.data.base import BarFeed
    from bot.data.sample import SampleFeed

log = structlog.get_logger(__name__)

#: finds the symbols a text is about, e.g. ``bot.news.symbols.SymbolMatcher(...).match``
Matcher = Callable[[str], Iterable[str]]

# Header names recognised (case-insensitively, first present wins), by role.
TIME_NAMES = ("published_at", "published", "pubdate", "datetime", "timestamp", "date", "time")
TITLE_NAMES = ("title", "headline")
SYMBOL_NAMES = ("symbols", "symbol", "ticker", "stock")
SUMMARY_NAMES = ("summary", "description")
GUID_NAMES = ("guid", "link")

_DATE_ONLY = re.compile(r"\d{4}-?\d\d-?\d\d")
_UTC_SUFFIX = re.compile(r"\s*(?:Z|UTC|GMT)$", re.I)
_SYMBOL_SPLIT = re.compile(r"[\s,;|]+")
_TIME_EXAMPLE = "ISO 8601 such as 2020-06-05 10:30:00-04:00, or RFC 822 such as Mon, 07 Mar 2022 00:14:42 GMT"


class SampleNewsReplay(ReplayNewsSource):
    """The sample market's SYNTHETIC headlines (the ones its prices react to)."""

    name = "sample"
    synthetic = True

    def __init__(self, sample_feed: SampleFeed) -> None:
        self.feed = sample_feed

    def headlines(
        self, symbols: Sequence[str], start: datetime | None, end: datetime | None
    ) -> list[Headline]:
        frame = self.feed.headlines(list(symbols), start, end)
        out = []
        for row in frame.itertuples(index=False):
            published = row.published_at.to_pydatetime()
            out.append(
                Headline(
                    source="sample",
                    guid=row.guid,
                    title=row.title,
                    published_at=published,
                    fetched_at=published,
                    summary=row.summary,
                    symbols=(row.symbol,) if row.symbol else (),
                )
            )
        return out


class CsvNewsReplay(ReplayNewsSource):
    """Headlines from one CSV file (``--news csv:FILE``), read once, at construction.

    Columns are found by header name, case-insensitively: a time (``TIME_NAMES``) and a title
    (``TITLE_NAMES``) are required; a symbol column (``SYMBOL_NAMES``, several symbols may be
    separated by commas or spaces), a summary (``SUMMARY_NAMES``) and a guid (``GUID_NAMES``) are
    optional; other columns are ignored. Times: ISO 8601 (an offset, ``Z`` or ``UTC`` is honoured;
    naive times are New York wall time; a bare date counts from the *end* of that New York day,
    marked ``published_estimated``, so a replay never uses it before it could have been known) or
    RFC 822 as in RSS. Rows with an unreadable time or an empty title are skipped and counted in one
    warning; if no row has a readable time, ``DataError`` names the file and the first bad line.

    A row without symbols is market-wide unless ``matcher(title + summary)`` names some. The guid is
    the guid/link cell, else a stable hash of (time, title, symbols). Rows repeating a guid keep the
    earliest (the journal, too, keeps the first sighting of a guid).
    """

    synthetic = False

    def __init__(self, path: str | Path, matcher: Matcher | None = None) -> None:
        self.path = Path(path)
        self.name = f"csv:{self.path}"
        self.skipped_rows = 0
        self._all = self._read(matcher)
        self._times = [h.published_at for h in self._all]

    def headlines(
        self, symbols: Sequence[str], start: datetime | None, end: datetime | None
    ) -> list[Headline]:
        lo = bisect.bisect_left(self._times, start) if start else 0
        hi = bisect.bisect_right(self._times, end) if end else len(self._times)
        wanted = {s.upper() for s in symbols}
        return [h for h in self._all[lo:hi] if not h.symbols or wanted.intersection(h.symbols)]

    def _read(self, matcher: Matcher | None) -> list[Headline]:
        try:
            with open(self.path, newline="", encoding="utf-8-sig") as handle:
                reader = csv.reader(handle)
                header = next(reader, None)
                if header is None:
                    raise DataError(f"{self.path} is empty")
                col = _columns(self.path, header)
                rows, bad, last_line = [], [], reader.line_num
                for cells in reader:
                    line, last_line = last_line + 1, reader.line_num  # a quoted cell may span lines
                    if not any(c.strip() for c in cells):
                        continue
                    row = _row(cells, col, matcher, self.name)
                    if row is None:
                        bad.append((line, _cell(cells, col["time"])))
                    else:
                        rows.append(row)
        except FileNotFoundError:
            raise DataError(f"news file {self.path} does not exist") from None
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise DataError(f"cannot read news file {self.path}: {exc}") from None
        if bad and not rows:
            line, value = bad[0]
            raise DataError(
                f"{self.path}: line {line}: no row has a usable time and title (time {value!r}; "
                f"expected {_TIME_EXAMPLE})"
            )
        if bad:
            self.skipped_rows = len(bad)
            first_lines = [n for n, _ in bad[:10]]
            log.warning(
                "news_rows_skipped",
                file=str(self.path),
                rows=len(bad),
                first_lines=first_lines,
                reason="unreadable time or empty title",
            )
        rows.sort(key=lambda h: h.published_at)  # stable: file order among equal times
        unique: list[Headline] = []
        seen: set[str] = set()
        for h in rows:
            if h.guid not in seen:
                seen.add(h.guid)
                unique.append(h)
        if len(unique) < len(rows):
            log.info("news_duplicates_dropped", file=str(self.path), rows=len(rows) - len(unique))
        return unique


def _columns(path: Path, header: list[str]) -> dict[str, int | None]:
    names = [h.strip().casefold() for h in header]

    def find(candidates: tuple[str, ...]) -> int | None:
        return next((names.index(c) for c in candidates if c in names), None)

    col = {
        "time": find(TIME_NAMES),
        "title": find(TITLE_NAMES),
        "symbol": find(SYMBOL_NAMES),
        "summary": find(SUMMARY_NAMES),
        "guid": find(GUID_NAMES),
        "link": find(("link", "url")),
    }
    missing = [role for role in ("time", "title") if col[role] is None]
    if missing:
        expected = {"time": TIME_NAMES, "title": TITLE_NAMES}
        wanted = "; ".join(f"{role}: one of {', '.join(expected[role])}" for role in missing)
        raise DataError(
            f"{path} lacks a {' and a '.join(missing)} column ({wanted}); "
            f"columns found: {', '.join(repr(h) for h in header)}"
        )
    return col


def _cell(cells: list[str], index: int | None) -> str:
    return cells[index].strip() if index is not None and index < len(cells) else ""


def _row(
    cells: list[str], col: dict[str, int | None], matcher: Matcher | None, source: str
) -> Headline | None:
    """A headline from one CSV record, or None when it is unusable."""
    title = _cell(cells, col["title"])
    parsed = parse_time(_cell(cells, col["time"]))
    if parsed is None or not title:
        return None
    published, estimated = parsed
    summary = _cell(cells, col["summary"])
    symbols = tuple(dict.fromkeys(s.upper() for s in _SYMBOL_SPLIT.split(_cell(cells, col["symbol"])) if s))
    if not symbols and matcher is not None:
        symbols = tuple(dict.fromkeys(matcher(f"{title}\n{summary}")))
    guid = _cell(cells, col["guid"])
    if not guid:
        basis = "\x1f".join((published.isoformat(), title, ",".join(symbols)))
        guid = "sha1:" + hashlib.sha1(basis.encode("utf-8")).hexdigest()[:20]
    link = _cell(cells, col["link"]) or (guid if guid.startswith(("http://", "https://")) else "")
    return Headline(
        source=source,
        guid=guid,
        title=title,
        published_at=published,
        fetched_at=published,
        summary=summary,
        link=link,
        symbols=symbols,
        published_estimated=estimated,
    )


@lru_cache(maxsize=65536)
def parse_time(text: str) -> tuple[datetime, bool] | None:
    """``(UTC time, estimated)`` of a headline's date text, or None when it cannot be read."""
    text = text.strip()
    if not text:
        return None
    if _DATE_ONLY.fullmatch(text):
        try:  # known only by the end of that day in New York
            day = datetime.strptime(text.replace("-", ""), "%Y%m%d").date()
        except ValueError:
            return None
        end = datetime.combine(day, time(23, 59, 59), NEW_YORK)
        return end.astimezone(UTC), True
    try:
        value = datetime.fromisoformat(_UTC_SUFFIX.sub("+00:00", text))
    except ValueError:
        from email.utils import parsedate_to_datetime  # here: a simulation without news skips it

        try:
            value = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if value.tzinfo is None:  # RFC 822's "-0000": UTC, local zone unknown
            value = value.replace(tzinfo=UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=NEW_YORK)
    return value.astimezone(UTC), False


def replay_scored(
    source: ReplayNewsSource,
    scorer: Scorer,
    symbols: Sequence[str],
    start: datetime | None,
    end: datetime | None,
) -> list[Headline]:
    """``source.headlines(...)`` scored by ``scorer``; each distinct title is scored once."""
    first: dict[str, Headline] = {}  # title -> its first scored headline
    out = []
    for h in source.headlines(symbols, start, end):
        done = first.get(h.title)
        if done is None:
            out.append(first.setdefault(h.title, h.scored(scorer)))
        else:
            out.append(replace(h, score=done.score, label=done.label, scorer_version=done.scorer_version))
    return out


def make_news_replay(
    config: Config, bar_feed: BarFeed, matcher: Matcher | None = None
) -> ReplayNewsSource | None:
    """The replay source named by ``config.news.replay``, or None for 'none' (and for 'sample'
    when the bars do not come from the sample market: its headlines are about its own companies).
    'journal' reads ``journal.path``, 'journal:PATH' another journal file."""
    choice = config.news.replay
    if choice == "none":
        return None
    if choice == "sample":
        # a SampleFeed exists only once its module is loaded: importing it just to say no would
        # cost every CSV or Alpaca simulation the sample market's import
        sample = sys.modules.get("bot.data.sample")
        if sample is not None and isinstance(bar_feed, sample.SampleFeed):
            return SampleNewsReplay(bar_feed)
        log.info(
            "news_replay_off",
            reason=f"no sample headlines for the bar source {bar_feed.name}; "
            "use --news csv:FILE or --news journal to replay headlines",
        )
        return None
    if choice.startswith("csv:"):
        return CsvNewsReplay(config.resolve(choice[4:]), matcher=matcher)
    if choice == "journal" or choice.startswith("journal:"):
        from bot.news.journal_replay import JournalNewsReplay

        if choice == "journal":
            path, key = config.journal.path, "news.replay = 'journal' (journal.path)"
        else:
            path, key = choice[8:], f"news.replay = {choice!r}"
        return JournalNewsReplay(config.resolve(path), key=key, matcher=matcher)
    raise ConfigError(f"news.replay: unknown replay source {choice!r}")  # config validation prevents this
