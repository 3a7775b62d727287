"""Small helpers shared by the news tests (scorers, fetcher factory, log capture)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from bot.news.base import title_key
from bot.news.rss import Feed, RssFetcher
from bot.news.symbols import SymbolMatcher
from fakes.feed_docs import Item


class StubScorer:
    """Deterministic: +0.5 for a headline with "rise"/"jump", -0.25 otherwise."""

    version = "stub-1"

    def score(self, text: str) -> float:
        return 0.5 if any(w in text.lower() for w in ("rise", "jump")) else -0.25

    def label(self, score: float) -> str:
        return "positive" if score > 0 else "negative"


class RaisingScorer:
    version = "broken-1"

    def score(self, text: str) -> float:
        raise ValueError("cannot score")

    def label(self, score: float) -> str:
        return "neutral"


def make_fetcher(
    feeds: Sequence[str | Feed],
    *,
    clock: Callable[[], datetime],
    symbols: Sequence[str] = (),
    aliases: Mapping[str, Sequence[str]] | None = None,
    scorer: object | None = None,
    timeout: float = 0.5,
    max_bytes: int = 1_000_000,
    backoff: float = 60.0,
    max_backoff: float = 3600.0,
) -> RssFetcher:
    return RssFetcher(
        [f if isinstance(f, Feed) else Feed(f) for f in feeds],
        matcher=SymbolMatcher(symbols, aliases or {}),
        scorer=scorer or StubScorer(),  # type: ignore[arg-type]
        timeout_seconds=timeout,
        max_bytes=max_bytes,
        backoff_seconds=backoff,
        max_backoff_seconds=max_backoff,
        clock=clock,
    )


def warnings_of(logs: list[dict], event: str) -> list[dict]:
    return [e for e in logs if e["event"] == event and e["log_level"] == "warning"]


def expected_unique(*feeds: Sequence[Item]) -> list[Item]:
    """What a fetch of ``feeds`` (in order) keeps: first sighting per (feed, guid) and per title."""
    keys, out = set(), []
    for items in feeds:
        guids = set()
        for item in items:
            key = title_key(item.title)
            if item.guid in guids or key in keys:
                continue
            guids.add(item.guid)
            keys.add(key)
            out.append(item)
    return out
