"""What the page shows, read from the journal on each request: ``status --json``'s dict
(``bot.status.view.collect``: halt, heartbeat, last run with its models' gates, positions with
stops, open orders, today's PnL), the equity summaries, the last decisions with the risk gate's
verdicts and reasons, the latest forecasts, recent headlines with their scores, and the reports.

Positions and orders are the journal's (no broker call per refresh: alpaca-py brings pandas,
past this process's memory budget, and the page refreshes every few seconds). No secret is read
here: the config's keys and password live in the environment, never in these dicts.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.dashboard.equity import Curve, EquityCache
from bot.journal import recent
from bot.journal.store import Journal
from bot.status.view import collect

#: rows of each list the page shows
DECISIONS, HEADLINES, REPORTS = 30, 15, 20
#: files of report.dir the page links to
REPORT_SUFFIXES = (".png", ".csv", ".json")


def open_readonly(path: Path, key: str) -> Journal | None:
    """The journal opened read-only, or None when it does not exist yet."""
    return Journal(path, readonly=True, key=key) if path.exists() else None


def reports(report_dir: Path, limit: int = REPORTS) -> list[dict[str, Any]]:
    """The newest report files (daily figures, simulation plots) in ``report_dir`` and its
    folders one level down, as paths relative to it."""
    found: list[tuple[float, str]] = []
    try:
        entries = list(os.scandir(report_dir))
    except OSError:
        return []
    for entry in entries:
        if entry.is_file() and entry.name.endswith(REPORT_SUFFIXES):
            found.append((entry.stat().st_mtime, entry.name))
        elif entry.is_dir():
            try:
                inner = list(os.scandir(entry.path))
            except OSError:
                continue
            found += [
                (f.stat().st_mtime, f"{entry.name}/{f.name}")
                for f in inner
                if f.is_file() and f.name.endswith(REPORT_SUFFIXES)
            ]
    found.sort(reverse=True)
    return [
        {"name": name, "modified": datetime.fromtimestamp(mtime, UTC).isoformat(timespec="seconds")}
        for mtime, name in found[:limit]
    ]


def curve(journal: Journal | None, cache: EquityCache, span: str) -> Curve:
    """The journal's latest run's curve: ``span`` "today" or "all" (since the start)."""
    run = journal.latest_run() if journal is not None else None
    if journal is None or run is None:
        return Curve([], [], [])
    return cache.today(journal, run) if span == "today" else cache.since_start(journal, run)


def read_state(
    config: Config, path: Path, key: str, dry_run: bool, cache: EquityCache, *, now: datetime | None = None
) -> dict[str, Any]:
    """Everything the page shows, as one JSON-ready dict."""
    journal = open_readonly(path, key)
    try:
        status = {"journal": str(path), "dry_run": dry_run, **collect(journal, config, now=now)}
        run = journal.latest_run() if journal is not None else None
        today, since = curve(journal, cache, "today"), curve(journal, cache, "all")
        return {
            "generated_at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
            "status": status,
            "equity_today": today.summary(),
            "equity_since_start": since.summary(),
            "decisions": [] if run is None else recent.recent_decisions(journal, run.run_id, DECISIONS),
            # a step writes two forecasts (both heads) per symbol: a few steps' worth suffices
            "forecasts": []
            if run is None
            else recent.latest_predictions(journal, run.run_id, scan=max(40, 8 * len(run.symbols))),
            "headlines": [] if journal is None else recent.recent_headlines(journal, HEADLINES),
            "reports": reports(config.resolve(config.report.dir)),
        }
    finally:
        if journal is not None:
            journal.close()
