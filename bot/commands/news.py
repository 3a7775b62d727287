"""``python -m bot news [--once] [--json]``: fetch the configured feeds once, print what is new.

Every fetched headline goes into the journal (with its score); only headlines the journal did not
know are printed. Exit codes: 0 when it ran (even if some feeds failed: they are logged), 1 when
every configured feed failed, 2 for a configuration error (e.g. Alpaca news on without keys).
The run is not recorded in the journal's ``runs`` table: ``status`` keeps showing the last
trading run.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import structlog

from bot.commands.common import load, new_run_id, start_logging
from bot.news.base import Headline


def run(args: argparse.Namespace) -> int:
    from bot.journal.store import open_journal
    from bot.news.ingest import NewsIngestor
    from bot.news.live import build_live_sources, has_live_news
    from bot.news.sentiment import SentimentScorer

    config = load(args.config)
    if not has_live_news(config):
        print("no news feeds configured: set [news] feeds, symbol_feeds or alpaca = true", file=sys.stderr)
        return 0
    start_logging(config, "news", new_run_id(), writable=("journal.path",))
    log = structlog.get_logger("bot.news")
    scorer = SentimentScorer(config.sentiment.positive_threshold, config.sentiment.negative_threshold)
    sources = build_live_sources(config, scorer)  # ConfigError (exit 2) before anything is fetched
    journal = open_journal(config.resolve(config.journal.path), batch_size=config.journal.batch_size)
    try:
        ingestor = NewsIngestor(sources, journal, scorer)
        new = ingestor.fetch()
    finally:
        journal.close()
        for source in sources:
            close = getattr(source, "close", None)
            if close is not None:
                close()
    report = ingestor.last_report
    log.info("news_fetched", new=len(new), attempted=report.attempted, failed=report.failed)
    for headline in sorted(new, key=lambda h: h.published_at):  # oldest first, like a replay
        print(json.dumps(headline_json(headline)) if args.json else format_headline(headline))
    if not args.json:
        print(
            f"{len(new)} new headline(s); {report.attempted} feed(s) asked, {report.failed} failed",
            file=sys.stderr,
        )
    return 1 if report.all_failed else 0


def headline_json(h: Headline) -> dict[str, Any]:
    return {
        "published_at": h.published_at.isoformat(),
        "published_estimated": h.published_estimated,
        "source": h.source,
        "symbols": list(h.symbols),
        "title": h.title,
        "link": h.link,
        "score": h.score,
        "label": h.label,
        "scorer_version": h.scorer_version,
    }


def format_headline(h: Headline) -> str:
    when = f"{h.published_at:%Y-%m-%d %H:%M}Z" + ("~" if h.published_estimated else " ")
    symbols = ",".join(h.symbols) or "-"
    score = "   n/a" if h.score is None else f"{h.score:+.2f}"
    return f"{when} {symbols:<12} {score} {h.label or '-':<8} {h.title}"
