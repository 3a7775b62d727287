"""Simulation mode: replay history through the engine with a SimBroker, as fast as possible.

Per step of the market's timeline (the union of every symbol's bar start times):
1. the broker fills orders on the bars that start now (orders decided at an earlier close fill at
   this bar's open; stops and limits on its high/low) and marks positions to the close;
2. the engine decides at the close time of these bars, seeing nothing later;
3. equity is snapshotted at that close time.

Headlines (``[news] replay``) are loaded once for the whole span, scored, journaled, and turned into
sentiment features per decision time (``SimulationResult.sentiment``); the features are causal by
construction (``bot.news.features``), so computing them up front leaks nothing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time

import pandas as pd
import structlog

from bot.broker.base import Fill, Order
from bot.broker.sim import SimBroker
from bot.broker.sim_journal import fill_and_journal
from bot.calendar.timeframes import NEW_YORK, PERIODS_PER_YEAR, Timeframe, parse_timeframe
from bot.config import Config, run_record
from bot.data.base import BarFeed
from bot.data.sources import default_span, default_symbols
from bot.engine.builder import EngineConfig, build_engine
from bot.engine.market import MarketView
from bot.engine.quiet import QuietSteps
from bot.engine.replay_steps import StepDays, StepTimes, decision_index, iso_stamps, new_york_dates
from bot.errors import DataError
from bot.journal.store import Journal
from bot.news.base import Headline, ReplayNewsSource
from bot.news.replay import make_news_replay
from risk.killswitch import RunKillSwitch
from strategies.registry import NEEDS_MODEL, make_strategy

log = structlog.get_logger(__name__)


@dataclass
class SimulationResult:
    run_id: str
    source: str
    synthetic: bool
    symbols: list[str]
    timeframe: str
    strategy: str
    initial_cash: float
    #: one row per step: index = decision time (UTC); columns cash, equity, buy_and_hold
    equity: pd.DataFrame
    fills: list[Fill]
    orders: list[Order]
    bars: int
    elapsed_seconds: float
    journal_seconds: float
    extra: dict = field(default_factory=dict)
    #: name of the replayed news source (None: no headlines replayed) and how many were replayed
    news_source: str | None = None
    headlines: int = 0
    #: sentiment features per symbol (index = decision times), None without a news source
    sentiment: dict[str, pd.DataFrame] | None = None
    #: the forecasting model used (id, both heads' status and reason), None for strategies without one
    model: dict | None = None
    #: how often each risk verdict was reached (``Engine.verdicts``)
    verdicts: dict = field(default_factory=dict)
    #: decisions sized by each volatility source ("risk head", "EWMA"), for lstm_sentiment
    sizing: dict = field(default_factory=dict)
    #: the kill switch at the end of the run (the journal's, so it may predate the run)
    halted: bool = False
    halt_reason: str | None = None


def _bounds(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """New York calendar dates -> UTC instants covering whole days."""
    lo = datetime.combine(start, clock_time(0), NEW_YORK) if start else None
    hi = datetime.combine(end, clock_time(0), NEW_YORK) + timedelta(days=1, microseconds=-1) if end else None
    return lo, hi


def load_history(config: Config, feed: BarFeed) -> tuple[list[str], Timeframe, dict[str, pd.DataFrame]]:
    """The bars a simulation replays, per the config's data section."""
    timeframe = parse_timeframe(config.data.timeframe)
    symbols = list(config.data.symbols) or default_symbols(feed)
    if not symbols:
        raise DataError(f"{feed.name}: no symbols to trade (set [data] symbols or --symbols)")
    start, end = _bounds(*default_span(config, timeframe.is_daily))
    frames = feed.history(symbols, start, end, timeframe)
    return symbols, timeframe, frames


def run_simulation(
    config: Config,
    feed: BarFeed,
    journal: Journal,
    run_id: str,
    *,
    progress: bool | None = None,
    quiet_steps: bool = True,
    on_result: Callable[[SimulationResult], object] | None = None,
    helpers: int = 0,
) -> SimulationResult:
    """Replay the configured history; everything seen and done goes to ``journal``.

    ``quiet_steps``: run the steps where nothing can happen without the decision step
    (``bot.engine.quiet``; the same journal and results either way, which tests check).
    ``on_result``: called with the finished result (curve, fills, orders, verdicts; not yet its
    timings) before the run's last journal writes are done (the write-behind worker's last
    batches), so that work needing only the result (the ``simulate`` command's figure, drawn by
    another process) overlaps them. Every row is journaled when this returns.
    ``helpers``: the caller's processes already working beside the run (the command's plot
    worker): the journal's write-behind worker starts only where a CPU is left for it."""
    started = time.perf_counter()
    journal.write_behind_ahead(helpers=helpers)  # started while the history loads (bot.journal.write_behind)
    symbols, timeframe, frames = load_history(config, feed)
    news = make_news_replay(config, feed)  # before the run is journaled: a bad news file stops here
    choice = None
    if config.strategy.name in NEEDS_MODEL:  # before the run is journaled: a missing model stops here
        from bot.forecast.provision import obtain_model

        first_bar = min(f.index[0] for f in frames.values() if len(f)).to_pydatetime()
        choice = obtain_model(config, feed, symbols, timeframe, first_bar)
    strategy = make_strategy(
        config,
        symbols,
        periods_per_year=PERIODS_PER_YEAR.get(timeframe.name, 252),
        model_usable=choice is None or choice.return_usable,
    )
    journal.start_run(
        run_id,
        "simulate",
        source=feed.name,
        synthetic=feed.synthetic,
        strategy=strategy.name,
        symbols=symbols,
        timeframe=timeframe.name,
        config={**run_record(config), "model": choice.as_dict() if choice else None},
    )
    view = MarketView(frames)
    clock = _Clock()
    broker = SimBroker(
        initial_cash=config.broker.initial_cash,
        symbols=symbols,
        slippage_bps=config.broker.slippage_bps,
        commission_per_share=config.broker.commission_per_share,
        commission_pct=config.broker.commission_pct,
        min_commission=config.broker.min_commission,
        allow_short=config.broker.allow_short,
        clock=clock,
    )
    steps = len(view)
    # the same instants as timeframe.close_time(view.now) at each step, known up front for the news
    starts = view.times
    decided_at = decision_index(view.timeline, timeframe)  # the index, for whole-run conversions
    decision_times = StepTimes(decided_at.as_unit("ns").asi8, indexed=True)  # each made when read
    headlines = _replay_news(news, config, journal, symbols, frames, decision_times)
    sentiment = None
    if headlines is not None:
        from bot.news.features import sentiment_features

        sentiment = sentiment_features(headlines, decided_at, symbols, config.sentiment)
    forecaster = None
    if choice is not None and choice.model is not None:
        from bot.forecast.forecaster import BatchForecaster
        from bot.forecast.inputs import needs_sentiment, sentiment_by_bar

        by_bar = (
            sentiment_by_bar(headlines or [], frames, timeframe, config) if needs_sentiment(config) else None
        )
        forecaster = BatchForecaster(choice.model, frames, by_bar)
    switch = RunKillSwitch()  # a replay's loss limits halt that replay only (see RunKillSwitch)
    engine = build_engine(
        EngineConfig.from_config(config, "simulate"),
        run_id=run_id,
        strategy=strategy,
        broker=broker,
        journal=journal,
        switch=switch,
        forecaster=forecaster,
    )
    # each step's New York date, known up front (a daily replay changes day every step)
    days = new_york_dates(decided_at)
    engine.equity.know_days(StepDays(decision_times, days))
    cash: list[float] = []
    equity: list[float] = []
    bar = _progress(steps, enabled=progress)
    # steps where nothing can happen run without the decision step (see bot.engine.quiet)
    quiet = QuietSteps(engine, broker, view, starts, days) if quiet_steps else None
    advance, account_now, decide = view.advance, broker.account, engine.decide  # read once, not a step
    # nothing is sent for real: one commit per batch, not per order. With a write-behind worker
    # (bot.journal.write_behind) the batches are written while the run goes on: what the replay
    # saw (every bar) goes first, each step's equity in pieces as it is known. Without one, the
    # journal writes them itself after the result, beside the caller's work on it (the command's
    # figure). All is written when the block ends, which the run's time counts like the rest
    with journal.batched_orders():
        behind = journal.writes_behind
        if behind:
            _journal_bars(journal, feed.name, timeframe.name, frames)
        equity_rows = _EquityHandover(journal, run_id, decided_at, cash, equity, in_pieces=behind)
        k = 0
        while k < steps:
            if quiet is not None:
                after = quiet.run(k, cash, equity)
                if bar is not None:
                    bar.update(after - k)
                k = after
                if k >= equity_rows.due:
                    equity_rows.hand_over(k)
                if k == steps:
                    break
            fill_and_journal(broker, journal, run_id, starts[k], advance())
            decision_time = decision_times[k]
            clock.now = decision_time
            # one account snapshot a step: deciding sends orders but fills nothing (fills happen
            # in on_bars), so the account the engine decides on is the one closing the step
            account = account_now()
            if not switch.halted:
                # a halted replay decides nothing more, as the daemon does (``Trader._decide``): the
                # trip already closed every position, and asking the strategy each step would only
                # journal the same denied entries again and again
                decide(decision_time, view, account)
            cash.append(account.cash)
            equity.append(account.equity)
            k += 1
            if k >= equity_rows.due:
                equity_rows.hand_over(k)
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        if behind:
            equity_rows.hand_over(steps)
        bars_seen = sum(len(frame) for frame in frames.values())  # every bar is one step's

        from bot.report.metrics import buy_and_hold_curve

        index = decided_at.rename("ts")
        curve = pd.DataFrame({"cash": cash, "equity": equity}, index=index)
        closes = pd.DataFrame(view.step_closes(), index=index)  # each step's new closes (NaN: no bar)
        curve["buy_and_hold"] = buy_and_hold_curve(closes, config.broker.initial_cash)
        result = SimulationResult(
            run_id=run_id,
            source=feed.name,
            synthetic=feed.synthetic,
            symbols=symbols,
            timeframe=timeframe.name,
            strategy=strategy.name,
            initial_cash=config.broker.initial_cash,
            equity=curve,
            fills=list(broker.fills),
            orders=list(broker.orders.values()),
            bars=bars_seen,
            elapsed_seconds=0.0,  # set below, once everything is journaled
            journal_seconds=0.0,
            extra={"quiet_steps": quiet.skipped if quiet is not None else 0},
            news_source=news.name if news else None,
            headlines=len(headlines or []),
            model=choice.as_dict() if choice else None,
            verdicts=dict(engine.verdicts),
            sizing=dict(getattr(strategy, "sizing_counts", {})),
            sentiment=sentiment,
            halted=switch.halted,
            halt_reason=switch.state().reason if switch.halted else None,
        )
        if on_result is not None:
            on_result(result)  # the caller's work that needs the result only, beside the last writes
        if not behind:  # the journal writes them itself: after the result, beside the caller's work
            _journal_bars(journal, feed.name, timeframe.name, frames)
            equity_rows.hand_over(steps)
    result.elapsed_seconds = time.perf_counter() - started
    result.journal_seconds = journal.write_seconds
    return result


def _journal_bars(journal: Journal, source: str, timeframe: str, frames: dict[str, pd.DataFrame]) -> None:
    """What the replay saw: every bar, their times spelled at once, zipped from whole columns."""
    for symbol, frame in frames.items():
        columns = [frame[c].to_numpy().tolist() for c in frame.columns]
        journal.add_bar_columns(source, symbol, timeframe, iso_stamps(frame.index), columns)


class _EquityHandover:
    """Hands each step's equity row to the journal: ``in_pieces`` (a write-behind worker takes the
    batches), every ``EVERY`` steps as the replay makes them, so that the worker writes most of
    them before the replay ends; else all at once when the caller says (``hand_over``)."""

    EVERY = 2048

    def __init__(
        self,
        journal: Journal,
        run_id: str,
        decided_at: pd.DatetimeIndex,
        cash: list[float],
        equity: list[float],
        *,
        in_pieces: bool,
    ) -> None:
        self.journal, self.run_id = journal, run_id
        self.stamps = iso_stamps(decided_at)  # every step's, spelled at once
        self.cash, self.equity = cash, equity
        self.done = 0  # steps handed over
        self.every = self.EVERY if in_pieces else len(decided_at) + 1
        self.due = self.every  # the step count at which the next piece is handed over

    def hand_over(self, steps: int) -> None:
        """Hand over the rows of steps [done, steps) (the lists hold at least ``steps`` rows)."""
        first = self.done
        if steps > first:
            self.journal.add_equity_columns(
                self.run_id, self.stamps[first:steps], self.cash[first:steps], self.equity[first:steps]
            )
            self.done = steps
        self.due = steps + self.every


def _replay_news(
    news: ReplayNewsSource | None,
    config: Config,
    journal: Journal,
    symbols: list[str],
    frames: dict[str, pd.DataFrame],
    decision_times: Sequence[datetime],
) -> list[Headline] | None:
    """Load the run's headlines (from the first bar minus the lookback, so the first decisions
    see a full window, to the last decision), score them and journal them in one batch.
    None when no news source applies."""
    if news is None or not decision_times:
        return None
    from bot.news.replay import replay_scored
    from bot.news.sentiment import SentimentScorer

    started = time.perf_counter()
    sent = config.sentiment
    first_bar = min(frame.index[0] for frame in frames.values() if len(frame)).to_pydatetime()
    scorer = SentimentScorer(sent.positive_threshold, sent.negative_threshold)
    headlines = replay_scored(
        news, scorer, symbols, first_bar - timedelta(hours=sent.lookback_hours), decision_times[-1]
    )
    journal.record_headlines(headlines)
    log.info(
        "news_replayed",
        source=news.name,
        headlines=len(headlines),
        seconds=round(time.perf_counter() - started, 3),
    )
    return headlines


class _Clock:
    """The simulated "now" (the current decision time), so orders carry it as submitted_at."""

    now: datetime | None = None

    def __call__(self) -> datetime:
        assert self.now is not None
        return self.now


def _progress(steps: int, *, enabled: bool | None):
    """A progress bar on stderr for long runs (None: none), only when stderr is a terminal."""
    if enabled is None:
        enabled = sys.stderr.isatty() and steps > 2000
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=steps, file=sys.stderr, unit="step", leave=False)
