"""The headline record and the news-source contract.

A ``Headline`` is what the bot saw: raw text, where and when it came from, which symbols it
concerns and (once scored) its sentiment with the scorer's version. Times are tz-aware UTC.
``published_at`` is the feed's own date; when the feed gives none it is the fetch time and
``published_estimated`` is True (so a replay never pretends to know more than the live run did).

| source | must |
|---|---|
| ``LiveNewsSource.fetch()`` | return the headlines that are new since the last call (never raise for a broken feed: log it and return what the other feeds gave) |
| ``ReplayNewsSource.headlines(symbols, start, end)`` | every headline published in ``[start, end]`` that concerns ``symbols`` or is market-wide, oldest first |
"""

from __future__ import annotations

import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


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
    @abstractmethod
    def fetch(self) -> list[Headline]:
        """New headlines since the previous call."""


class ReplayNewsSource(ABC):
    name: str = "replay"
    synthetic: bool = False

    @abstractmethod
    def headlines(self, symbols: Sequence[str], start: datetime | None, end: datetime | None) -> list[Headline]:
        """Headlines published in ``[start, end]`` for ``symbols`` or market-wide, oldest first."""
