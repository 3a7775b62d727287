"""``NewsIngestor``: every live source -> the journal -> the headlines nobody has seen yet.

Contract of ``fetch()``:

- asks each source in turn; a source that raises (it should not) is logged and skipped;
- stores every headline a source returned, right after that source answered (so nothing is
  lost if a later source fails or the process dies), with its score and scorer version; a
  headline that cannot be scored is stored with score None. The journal keeps the first sighting
  of a (source, guid). A story the same source already gave within ``REPEAT_WINDOW`` under
  another guid or link (the same normalised title: feeds that rotate guids on every request) is
  not stored again, and the repeats are counted in the log;
- returns the headlines whose normalised title is new: not already in the journal (from any
  source, any earlier run) and not returned earlier in this call. The same story from RSS and
  Alpaca is therefore stored twice (two sources) but returned once (first source wins).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

import structlog

from bot.journal.store import Journal
from bot.news.base import FetchReport, Headline, LiveNewsSource, Scorer

log = structlog.get_logger(__name__)

#: a title the same source repeats within this span under a new guid is the same story
REPEAT_WINDOW = timedelta(days=7)


class NewsIngestor(LiveNewsSource):
    """Merges live sources, journals what they return, hands out what is new."""

    def __init__(self, sources: Sequence[LiveNewsSource], journal: Journal, scorer: Scorer) -> None:
        self.sources = list(sources)
        self.journal = journal
        self.scorer = scorer
        self.last_report = FetchReport()

    def fetch(self) -> list[Headline]:
        new: list[Headline] = []
        keys_this_call: set[str] = set()
        report = FetchReport()
        for source in self.sources:
            name = type(source).__name__
            try:
                fetched = source.fetch()
            except Exception:
                log.error("news_source_crashed", source=name, exc_info=True)
                report += FetchReport(attempted=1, failed=1)
                continue
            # None (or a duck-typed source without the attribute): it does not report, count one endpoint
            report += getattr(source, "last_report", None) or FetchReport(attempted=1)
            fetched, repeats = self._without_repeats(fetched)
            fetched = [self._scored(h) for h in fetched]
            # which titles were known *before* this batch is stored
            known = self.journal.known_title_keys(h.key for h in fetched)
            stored = self.journal.record_headlines(fetched)
            if repeats:
                log.info("news_repeats_dropped", source=name, repeats=repeats)
            fresh = 0
            for headline in fetched:
                if headline.key in known or headline.key in keys_this_call:
                    continue
                keys_this_call.add(headline.key)
                new.append(headline)
                fresh += 1
            log.info("news_ingested", source=name, fetched=len(fetched), stored=stored, new=fresh)
        self.last_report = report
        return new

    def _without_repeats(self, fetched: list[Headline]) -> tuple[list[Headline], int]:
        """``fetched`` less the stories its own source already gave (same title within the
        window), in the journal or earlier in this batch; and how many of those came under a guid
        not seen before (the repeats worth reporting: an unchanged re-fetch is not one)."""
        if not fetched:
            return fetched, 0
        since = min(h.fetched_at for h in fetched) - REPEAT_WINDOW
        titles: dict[str, set[str]] = {}
        guids: dict[str, set[str]] = {}
        for source in {h.source for h in fetched}:
            mine = [h for h in fetched if h.source == source]
            titles[source] = self.journal.known_title_keys((h.key for h in mine), source=source, since=since)
            guids[source] = self.journal.known_guids(source, [h.guid for h in mine])
        kept, seen, repeats = [], set(), 0
        for headline in fetched:
            pair = (headline.source, headline.key)
            if headline.key in titles[headline.source] or pair in seen:
                repeats += headline.guid not in guids[headline.source]
                continue
            seen.add(pair)
            kept.append(headline)
        return kept, repeats

    def _scored(self, headline: Headline) -> Headline:
        if headline.scorer_version is not None:
            return headline
        try:
            return headline.scored(self.scorer)
        except Exception:  # e.g. label() failing: keep the headline, unscored
            log.warning("headline_unscored", source=headline.source, guid=headline.guid, exc_info=True)
            version = getattr(self.scorer, "version", None)
            return replace(headline, score=None, label=None, scorer_version=version)
