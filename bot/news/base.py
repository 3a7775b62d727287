"""The headline record, the news-source contracts, and what they share.

A ``Headline`` is what the bot saw: raw text, where and when it came from, which symbols it
concerns and (once scored) its sentiment with the scorer's version. Times are tz-aware UTC.
``published_at`` is the feed's own date; when the feed gives none it is the fetch time and
``published_estimated`` is True (so a replay never pretends to know more than the live run did).

This module sits below every source: ``rss``, ``alpaca_news`` and ``ingest`` import from it, and
``live`` (which builds the sources) imports them, never the other way round.

``LiveNewsSource`` (implementations: ``RssFetcher``, ``AlpacaNewsSource``; ``NewsIngestor`` merges
them; one suite, ``tests/news/test_news_source_contract.py``, runs against both sources):

| member | must |
|---|---|
| ``fetch()`` | return the headlines not handed out before by this object: none whose (source, guid) or normalised title (``Headline.key``) an earlier call, or an earlier item of this call, gave; order is the source's own |
| each headline | ``source`` and ``guid`` non-empty, ``title`` non-empty plain text; ``fetched_at`` = the source's clock at this call; ``published_at`` tz-aware UTC and never after ``fetched_at`` (a later or missing date becomes ``fetched_at`` with ``published_estimated``); ``symbols`` sorted, distinct, upper case; scored: ``scorer_version`` set, ``score`` in [-1, 1] with its ``label``, or both None when the scorer could not score the text |
| ``fetch()`` on failure | never raise for a broken endpoint (timeout, refused connection, HTTP error, unreadable answer): log a warning, return what the other endpoints gave (``[]`` when none answered), and ask a failed endpoint again on a later call (after a backoff, if the source keeps one) |
| ``last_report`` | after each ``fetch()``, a ``FetchReport`` of that call: endpoints asked, failed, skipped (in backoff); None on a source that does not report (the ingestor counts it as one endpoint asked) |
| ``close()`` | release connections (the default does nothing) |

| replay source | must |
|---|---|
| ``ReplayNewsSource.headlines(symbols, start, end)`` | every headline published in ``[start, end]`` that concerns ``symbols`` or is market-wide, oldest first |
"""

from __future__ import annotations

import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)

#: what a live source asks for the time: injected so tests move it by hand
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class FetchReport:
    """One ``fetch()`` of a source: endpoints asked, how many failed, how many sat out a backoff."""

    attempted: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def all_failed(self) -> bool:
        return self.attempted > 0 and self.failed == self.attempted

    def __add__(self, other: FetchReport) -> FetchReport:
        return FetchReport(
            self.attempted + other.attempted, self.failed + other.failed, self.skipped + other.skipped
        )


def title_key(title: str) -> str:
    """Normalised title for de-duplication across sources: case, accents, punctuation, spacing."""
    text = unicodedata.normalize("NFKD", title)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", text.casefold()).strip()


@dataclass(frozen=True)
class Headline:
    source: str  # e.g. "rss:https://host/feed.xml", "alpaca", "sample", "csv:/path/file.csv"
    guid: str  # the source's own id (guid/id/link), unique within the source
    title: str
    published_at: datetime
    fetched_at: datetime
    summary: str = ""
    link: str = ""
    symbols: tuple[str, ...] = ()  # empty: market-wide
    published_estimated: bool = False
    score: float | None = None  # in [-1, 1]
    label: str | None = None  # positive / negative / neutral
    scorer_version: str | None = None

    @property
    def key(self) -> str:
        return title_key(self.title)

    def scored(self, scorer: Scorer) -> Headline:
        """A copy with score, label and scorer version; unscorable text keeps score None."""
        try:
            value = scorer.score(self.title)
        except Exception:  # a headline that cannot be scored is still kept (and stored)
            return replace(self, scorer_version=scorer.version)
        return replace(self, score=value, label=scorer.label(value), scorer_version=scorer.version)


class Scorer(Protocol):
    version: str

    def score(self, text: str) -> float: ...

    def label(self, score: float) -> str: ...


class LiveNewsSource(ABC):
    """A source polled for news as it happens; the contract table is in the module docstring."""

    #: how the last ``fetch()`` went; None: this source does not report
    last_report: FetchReport | None = None

    @abstractmethod
    def fetch(self) -> list[Headline]:
        """New headlines since the previous call, scored; never raises for a broken endpoint."""

    def close(self) -> None:
        """Release connections; sources without any keep this no-op."""


class ReplayNewsSource(ABC):
    name: str = "replay"
    synthetic: bool = False

    @abstractmethod
    def headlines(
        self, symbols: Sequence[str], start: datetime | None, end: datetime | None
    ) -> list[Headline]:
        """Headlines published in ``[start, end]`` for ``symbols`` or market-wide, oldest first."""
