"""The daemon's model slot: the forecaster loaded at start-up and reloaded after a scheduled
retrain, without a restart.

The registry decides (``bot.forecast.provision.obtain_model``): the configuration's active model,
else its newest rejected one (the strategy then stays flat), else, on the synthetic sample market
only, one trained before the replay. The sentiment book lives outside the slot, so a reload keeps
every headline the news job has brought in.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from bot.calendar.timeframes import Timeframe
from bot.config import Config
from bot.daemon.sentiment import BookForecaster, SentimentBook
from bot.errors import ModelError
from bot.journal.store import Journal
from bot.news.base import Headline
from strategies.base import Strategy
from strategies.registry import NEEDS_MODEL, make_strategy

log = structlog.get_logger(__name__)


class ModelSlot:
    def __init__(
        self,
        config: Config,
        feed: Any,
        symbols: list[str],
        timeframe: Timeframe,
        first_bar: datetime,
        book: SentimentBook | None,
    ) -> None:
        self.config = config
        self.feed = feed
        self.symbols = symbols
        self.timeframe = timeframe
        self.first_bar = first_bar
        self.book = book
        #: the model in use as ``ModelChoice.as_dict()`` (None for strategies without one)
        self.model: dict | None = None

    def load(self) -> Any:
        """The forecaster for the registry's current choice (None: no model, or not usable)."""
        if self.config.strategy.name not in NEEDS_MODEL:
            return None
        from bot.forecast.forecaster import LiveForecaster
        from bot.forecast.provision import obtain_model

        choice = obtain_model(self.config, self.feed, self.symbols, self.timeframe, self.first_bar)
        self.model = choice.as_dict()
        if choice.model is None:
            log.warning(
                "model_not_usable", model_id=choice.model_id, status=choice.status, reason=choice.reason
            )
            return None
        return BookForecaster(LiveForecaster(choice.model, self.book.rows if self.book else None), self.book)

    def strategy(self) -> Strategy:
        from bot.calendar.timeframes import PERIODS_PER_YEAR

        usable = self.model is None or self.model.get("model_status") == "active"
        return make_strategy(
            self.config,
            self.symbols,
            model_usable=usable,
            periods_per_year=PERIODS_PER_YEAR.get(self.timeframe.name, 252),
        )

    def reload(self, engine: Any) -> None:
        """After a retrain (on the trading thread): swap in the registry's current model. A model the
        registry cannot load (damaged files) halts entries with one log line, as a failing one does."""
        before = (self.model or {}).get("model_id")
        try:
            forecaster = self.load()
        except ModelError as exc:
            engine.model_failed(str(exc))
            return
        engine.forecaster = forecaster
        engine.entries_halted = None  # a loadable model: entries are the strategy's again
        engine.strategy = self.strategy()
        log.info(
            "model_reloaded",
            before=before,
            model_id=(self.model or {}).get("model_id"),
            status=(self.model or {}).get("model_status"),
        )


def sentiment_book(
    config: Config, feed: Any, symbols: list[str], timeframe: Timeframe, frames: Any, journal: Journal
) -> SentimentBook | None:
    """The headlines the forecaster's sentiment features read: a replay's own headlines, or for
    live bars the journal's headlines of the last ``sentiment.lookback_hours`` (the news job adds
    the new ones). None when the strategy or the model's features need none."""
    from bot.forecast.inputs import needs_sentiment, replay_headlines

    if config.strategy.name not in NEEDS_MODEL or not needs_sentiment(config):
        return None
    if frames:
        headlines = replay_headlines(config, feed, symbols, frames, timeframe)
    else:
        since = datetime.now(UTC) - timedelta(hours=config.sentiment.lookback_hours)
        headlines = [headline_from_row(row) for row in journal.headlines_between(since, None)]
    return SentimentBook(config.sentiment, timeframe, headlines)


def headline_from_row(row: Any) -> Headline:
    """A journaled headline (a ``headlines`` row) as the ``Headline`` it was stored from."""
    return Headline(
        source=row["source"],
        guid=row["guid"],
        title=row["title"],
        published_at=datetime.fromisoformat(row["published_at"]),
        fetched_at=datetime.fromisoformat(row["fetched_at"]),
        summary=row["summary"] or "",
        link=row["link"] or "",
        symbols=tuple(s for s in (row["symbols"] or "").split(",") if s),
        published_estimated=bool(row["published_estimated"]),
        score=row["score"],
        label=row["label"],
        scorer_version=row["scorer_version"],
    )
