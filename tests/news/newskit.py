"""Plain helpers of the news tests (fixtures are in conftest.py): fixed times, small items, stub
scorers, an ``RssFetcher`` factory and log filters."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from bot.news.base import title_key
from bot.news.rss import Feed, RssFetcher
from bot.news.symbols import SymbolMatcher

from fakes.feed_docs import Item

BBC_CSV = ("news", "bbc_business_rss_items.csv")
FIXED_NOW = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)  # after every BBC item (2022..2024)

# A few hand-written items: the tests that must run without ../shared/data use these.
SMALL_ITEMS = [
    Item(
        title="Apple shares rise after record quarter",
        link="https://example.com/news/apple-record",
        guid="small-1",
        pub_date="Tue, 02 Jan 2024 14:30:00 GMT",
        description="The iPhone maker beat estimates.",
    ),
    Item(
        title="Microsoft cuts cloud prices",
        link="https://example.com/news/msft-cloud",
        guid="small-2",
        pub_date="Wed, 03 Jan 2024 09:00:00 GMT",
        description="Azure gets cheaper.",
    ),
    Item(
        title="Oil slides as demand fears grow",
        link="https://example.com/news/oil",
        guid="small-3",
        pub_date="Thu, 04 Jan 2024 18:45:10 GMT",
        description="Brent fell 3%.",
    ),
]


class MutableClock:
    """A clock tests move by hand: backoff without sleeping."""

    def __init__(self, now: datetime = FIXED_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


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
