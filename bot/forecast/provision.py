"""Finds the model a simulation should use, or trains one on the fly for the sample market.

Order: the configuration's *active* model (a folder whose return head, risk head or both passed
their gates; the strategy uses only what passed); else its newest *rejected* model (neither head
is used: the strategy holds its base book sized by EWMA, or stays flat with ``base = "flat"``); else, for the synthetic sample market only, a new
model trained on the history *before* the replay starts (never on the period replayed), gated like
``python -m bot train``. For real data a missing model is an error that says how to train one.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from bot.calendar.timeframes import NEW_YORK, Timeframe
from bot.config import Config
from bot.data.base import BarFeed
from bot.errors import ModelError
from bot.forecast.registry import (
    LoadedModel,
    active_model_id,
    config_key,
    latest_model_id,
    load_model,
    read_meta,
)

log = structlog.get_logger(__name__)

# how much sample history before the replay an on-the-fly model trains on
_DAILY_HISTORY = timedelta(days=3 * 365)
_INTRADAY_HISTORY = timedelta(days=45)


@dataclass(frozen=True)
class ModelChoice:
    model: LoadedModel | None  # None: no usable head at all
    model_id: str
    status: str  # the return head: active | rejected | candidate
    reason: str
    trained_now: bool = False
    risk_status: str = "rejected"  # the risk head: active | rejected
    risk_reason: str = "no risk head"

    @property
    def return_usable(self) -> bool:
        return self.model is not None and self.model.return_usable

    @property
    def risk_usable(self) -> bool:
        return self.model is not None and self.model.risk_usable

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "model_status": self.status,
            "model_reason": self.reason,
            "model_trained_now": self.trained_now,
            "risk_model_status": self.risk_status,
            "risk_model_reason": self.risk_reason,
        }


def _choice(loaded: LoadedModel | None, meta: dict, trained_now: bool = False) -> ModelChoice:
    risk_status = meta.get("risk_status", "rejected")
    risk_reason = meta.get("risk_reason", "the model was trained before risk heads existed")
    if loaded is not None and loaded.risk is None:
        risk_status, risk_reason = (
            "rejected",
            "the model has no risk head (trained before risk heads existed)",
        )
    return ModelChoice(
        loaded,
        meta["model_id"],
        meta["status"],
        meta.get("reason", ""),
        trained_now,
        risk_status,
        risk_reason,
    )


def obtain_model(
    config: Config, feed: BarFeed, symbols: list[str], timeframe: Timeframe, first_bar: datetime
) -> ModelChoice:
    m = config.model
    directory = config.resolve(m.dir)
    key = config_key(timeframe.name, m.features, m.window, m.volume_window, symbols)
    active = active_model_id(directory, key)
    if active:
        loaded = load_model(directory, active, m.features, m.window, m.volume_window)
        return _choice(loaded, loaded.meta)
    latest = latest_model_id(directory, key)
    if latest:
        return _choice(None, read_meta(directory, latest))
    if not feed.synthetic:
        raise ModelError(
            f"no model for {', '.join(symbols)} ({timeframe.name}) in {directory}: train one first with "
            f"`python -m bot train --source {feed.name} --symbols {','.join(symbols)} --end <a date before "
            "the replay>` (a simulation never trains on the period it replays)"
        )
    return _train_on_sample(config, feed, symbols, timeframe, first_bar, directory)


def _train_on_sample(
    config: Config,
    feed: BarFeed,
    symbols: list[str],
    timeframe: Timeframe,
    first_bar: datetime,
    directory: Any,
) -> ModelChoice:
    from bot.forecast.inputs import needs_sentiment, replay_headlines, sentiment_by_bar
    from bot.forecast.training import book_settings, train_and_register

    end = first_bar - timedelta(seconds=1)
    start = first_bar - (_DAILY_HISTORY if timeframe.is_daily else _INTRADAY_HISTORY)
    span = f"{start.astimezone(NEW_YORK):%Y-%m-%d}..{end.astimezone(NEW_YORK):%Y-%m-%d}"
    print(
        f"no trained model for this configuration yet: training one on the sample market's history "
        f"{span} (before the replay; about a minute)",
        file=sys.stderr,
    )
    frames = feed.history(symbols, start, end, timeframe)
    sentiment = None
    if needs_sentiment(config):
        headlines = replay_headlines(config, feed, symbols, frames, timeframe)
        sentiment = sentiment_by_bar(headlines, frames, timeframe, config)
    bars = min(len(f) for f in frames.values())
    usable = bars - config.model.window - config.model.volume_window
    train_bars = min(config.model.train_bars, int(usable * 0.6))
    test_bars = min(config.model.test_bars, max(20, (usable - train_bars) // 2))
    model_config = dataclasses.replace(config.model, train_bars=train_bars, test_bars=test_bars)
    outcome = train_and_register(
        model_config,
        frames,
        sentiment,
        models_dir=directory,
        timeframe=timeframe.name,
        symbols=symbols,
        progress=True,
        books=book_settings(config.strategy),
    )
    print(f"model {outcome.model_id}: return head {outcome.status}: {outcome.reason}", file=sys.stderr)
    print(
        f"model {outcome.model_id}: risk head {outcome.risk_status}: {outcome.risk_reason}", file=sys.stderr
    )
    m = config.model
    loaded = load_model(directory, outcome.model_id, m.features, m.window, m.volume_window)
    usable = loaded.return_usable or loaded.risk_usable
    return _choice(loaded if usable else None, loaded.meta, trained_now=True)
