"""``NewsIngestor``: every live source -> the journal -> the headlines nobody has seen yet.

Contract of ``fetch()``:

- asks each source in turn; a source that raises (it should not) is logged and skipped;
- stores *every* headline a source returned, right after that source answered (so nothing is
  lost if a later source fails or the process dies), with its score and scorer version; a
  headline that cannot be scored is stored with score None. The journal keeps the first sighting
  of a (source, guid);
- returns the headlines whose normalised title is new: not already in the journal (from any
  source, any earlier run) and not returned earlier in this call. The same story from RSS and
  Alpaca is therefore stored twice (two sources) but returned once (first source wins).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import structlog

from bot.journal import Journal
from bot.news.base import Headline, LiveNewsSource, Scorer
from bot.news.live import FetchReport

log = structlog.get_logger(__name__)


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
            report += getattr(source, "last_report", None) or FetchReport(attempted=1)
            fetched = [self._scored(h) for h in fetched]
            # which titles were known *before* this batch is stored
            known = self.journal.known_title_keys(h.key for h in fetched)
            stored = self.journal.record_headlines(fetched)
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

    def _scored(self, headline: Headline) -> Headline:
        if headline.scorer_version is not None:
            return headline
        try:
            return headline.scored(self.scorer)
        except Exception:  # e.g. label() failing: keep the headline, unscored
            log.warning("headline_unscored", source=headline.source, guid=headline.guid, exc_info=True)
            version = getattr(self.scorer, "version", None)
            return replace(headline, score=None, label=None, scorer_version=version)
