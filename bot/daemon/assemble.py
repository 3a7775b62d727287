"""The parts each daemon mode plugs into the same engine (docs/architecture.md: modes differ only in adapters).

| mode | bars | fills | sessions |
|---|---|---|---|
| paper (``run``) | live Alpaca bars | Alpaca paper account (``BrokerVenue``) | the broker's calendar |
| dry run, live (``run --dry-run``) | live Alpaca bars | SimBroker (``SimVenue``) | the exchange calendar |
| dry run, replay (``--source sample\\|csv:DIR\\|alpaca --speed N``) | history, paced | SimBroker | the replayed bars |

A daemon *resumes* the journal's unfinished run of the same mode, source, symbols, timeframe and
strategy (``--new-run`` starts afresh): same run id, so the same client order ids; the dry run's
account is rebuilt from the journal's fills and open orders, and a replay goes on after the last
step it recorded. The paper account's truth is at the broker: reconciliation settles it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from bot.calendar.timeframes import Timeframe, parse_timeframe
from bot.commands.common import new_run_id
from bot.config import Config, Secrets, run_record
from bot.daemon.bars import BarWindow, LiveBars, ReplayBars, frames_to_steps
from bot.daemon.model import ModelSlot, sentiment_book
from bot.daemon.sentiment import SentimentBook
from bot.daemon.sessions import Sessions, broker_sessions, exchange_sessions
from bot.daemon.trader import Alert, TradingLoop
from bot.daemon.venue import BrokerVenue, SimVenue
from bot.engine.builder import EngineConfig, build_engine
from bot.engine.engine import Engine
from bot.errors import ConfigError
from bot.journal.store import Journal
from risk.killswitch import KillSwitch
from risk.order_rate import OrderRate

log = structlog.get_logger(__name__)


@dataclass
class Parts:
    mode: str  # "paper" | "dry-run"
    run_id: str
    resumed: bool
    source: str
    symbols: list[str]
    timeframe: Timeframe
    loop: TradingLoop
    replay: ReplayBars | None = None
    live: LiveBars | None = None
    sessions: Sessions | None = None
    news: Any = None  # NewsIngestor when live feeds are configured
    slot: ModelSlot | None = None

    @property
    def model(self) -> dict | None:
        """The model in use (``ModelChoice.as_dict()``), None for strategies without one."""
        return self.slot.model if self.slot is not None else None

    @property
    def book(self) -> SentimentBook | None:
        """The headlines the forecaster's sentiment features read (the news job adds to it)."""
        return self.slot.book if self.slot is not None else None

    closers: list[Any] = field(default_factory=list)


def assemble(
    config: Config,
    journal: Journal,
    *,
    dry_run: bool,
    replay_source: str | None,
    speed: float,
    new_run: bool,
    secrets: Secrets,
    alert: Alert,
) -> Parts:
    """Build every part for the mode; raises ``ConfigError``/``DataError``/``ModelError`` (exit 2)."""
    mode = "dry-run" if dry_run else "paper"
    if replay_source and not dry_run:
        raise ConfigError(
            "--source/--speed replay history: they need --dry-run (the paper account trades live bars only)"
        )
    timeframe = parse_timeframe(config.data.timeframe)
    keep = config.daemon.history_bars
    replay = live = sessions = None
    if replay_source:
        from bot.data.sources import make_feed
        from bot.engine.simulation import load_history

        config = dataclasses.replace(config, data=dataclasses.replace(config.data, source=replay_source))
        feed = make_feed(config, journal)
        symbols, timeframe, frames = load_history(config, feed)
        steps = frames_to_steps(frames)
        replay = ReplayBars(steps, timeframe, speed)
        first_bar = steps[0][0] if steps else datetime.now(UTC)
        source = f"replay:{feed.name}"
    else:
        from bot.data.alpaca_feed import AlpacaFeed

        symbols = list(config.data.symbols)
        if not symbols:
            raise ConfigError(
                "data.symbols: the live daemon needs the symbols to trade: set [data] symbols "
                "in the config or pass --symbols"
            )
        feed = AlpacaFeed.from_config(config, journal=journal, secrets=secrets)
        stream = None
        if config.alpaca.stream_bars:
            from bot.data.alpaca_stream import BarStream

            stream = BarStream.from_config(
                config.alpaca, secrets, symbols, timeframe, extended_hours=config.data.extended_hours
            )
        live = LiveBars(feed, symbols, timeframe, keep, stream=stream)
        first_bar = datetime.now(UTC)
        source = "alpaca"
        frames = None

    strategy_name = config.strategy.name
    run_id, resumed = _run_identity(journal, mode, source, symbols, timeframe, strategy_name, new_run)

    if dry_run:
        from bot.broker.sim import SimBroker

        b = config.broker
        broker: Any = SimBroker(
            initial_cash=b.initial_cash,
            symbols=symbols,
            slippage_bps=b.slippage_bps,
            commission_per_share=b.commission_per_share,
            commission_pct=b.commission_pct,
            min_commission=b.min_commission,
            allow_short=b.allow_short,
        )
        venue: Any = SimVenue(broker, journal, run_id)
        if live is not None:
            sessions = exchange_sessions()
        if config.alpaca.trade_updates:
            log.info(
                "trade_updates_unused", note="the dry run's fills are simulated: no trade-updates stream"
            )
    else:
        from bot.broker.alpaca import AlpacaBroker

        broker = AlpacaBroker(config.alpaca, secrets)
        broker.know_legs(journal.protective_legs())  # legs Alpaca may list un-nested after a fill
        broker.account()  # bad keys or an unreachable server stop here, with one clear line
        updates = None
        if config.alpaca.trade_updates:
            from bot.broker.trade_updates import TradeUpdates

            updates = TradeUpdates.from_config(config.alpaca, secrets)
        venue = BrokerVenue(broker, journal, run_id, updates=updates)
        sessions = broker_sessions(broker)

    book = sentiment_book(config, feed, symbols, timeframe, frames, journal)
    slot = ModelSlot(config, feed, symbols, timeframe, first_bar, book)
    forecaster = slot.load()
    strategy = slot.strategy()
    switch = KillSwitch(journal)
    engine = build_engine(
        EngineConfig.from_config(config, mode),
        run_id=run_id,
        strategy=strategy,
        broker=broker,
        journal=journal,
        switch=switch,
        forecaster=forecaster,
    )
    if resumed:
        journal.reopen_run(run_id)
        _seed_limits(engine, journal, run_id)
    else:
        journal.start_run(
            run_id,
            mode,
            source=source,
            synthetic=feed.synthetic,
            strategy=strategy.name,
            symbols=symbols,
            timeframe=timeframe.name,
            config={**run_record(config, daemon=True), "model": slot.model},
        )
    window = BarWindow(symbols, keep)
    loop = TradingLoop(
        run_id=run_id,
        mode=mode,
        source=source,
        journal=journal,
        engine=engine,
        venue=venue,
        window=window,
        timeframe=timeframe,
        switch=switch,
        decide_each_step=replay is not None,
        max_broker_failures=config.daemon.max_broker_failures,
        alert=alert,
    )
    parts = Parts(mode, run_id, resumed, source, symbols, timeframe, loop, replay, live, sessions, slot=slot)
    _warm_up(parts, journal, venue)
    _model_gate_halt(config, parts, switch, alert)
    # the news thread writes headlines through its own connection (SQLite serialises the writers)
    parts.news = _news(config, Journal(journal.path, batch_size=config.journal.batch_size), symbols, secrets)
    _start_streams(parts, venue)
    return parts


def _start_streams(parts: Parts, venue: Any) -> None:
    """Started last, when nothing can fail any more (a thread is never left behind by a config
    error); the runner stops them through ``parts.closers``."""
    streams = [parts.live.stream if parts.live is not None else None, getattr(venue, "updates", None)]
    for stream in streams:
        if stream is not None:
            stream.start()
            parts.closers.append(stream)


def _run_identity(
    journal: Journal,
    mode: str,
    source: str,
    symbols: list[str],
    timeframe: Timeframe,
    strategy: str,
    new_run: bool,
) -> tuple[str, bool]:
    """The unfinished run to resume (status running = crashed, stopped = SIGTERM), else a new id."""
    if not new_run:
        run = journal.latest_run(mode)
        if run is not None:
            same = (run.source, run.symbols, run.timeframe, run.strategy) == (
                source,
                tuple(symbols),
                timeframe.name,
                strategy,
            )
            if run.status in ("running", "stopped") and same:
                return run.run_id, True
            if run.status in ("running", "stopped"):
                log.warning(
                    "run_not_resumed",
                    run_id=run.run_id,
                    reason="source, symbols, timeframe or strategy changed: starting a new run",
                )
    return new_run_id(), False


def _seed_limits(engine: Engine, journal: Journal, run_id: str) -> None:
    """The daily-loss, drawdown and order-rate limits keep counting from the journal, not from
    the restart (a crash loop must not reset them)."""
    for point in journal.equity_between(run_id=run_id):
        engine.equity.observe(point.ts, point.equity)
    times = journal.sent_order_times(run_id)
    for rule in engine.gate.rules:
        if isinstance(rule, OrderRate):
            rule.seed(times)


def _warm_up(parts: Parts, journal: Journal, venue: Any) -> None:
    loop = parts.loop
    if parts.replay is not None:
        if parts.resumed:
            last = journal.latest_equity(run_id=parts.run_id)
            if last is not None:
                loop.warm(parts.replay.skip_through(last.ts))
    else:
        assert parts.live is not None
        loop.warm(parts.live.warm_up(datetime.now(UTC)))
    if isinstance(venue, SimVenue) and parts.resumed:
        venue.restore({s: loop.window.last_close(s) or 0.0 for s in parts.symbols})
    journal.flush()


def _model_gate_halt(config: Config, parts: Parts, switch: KillSwitch, alert: Alert) -> None:
    model = parts.model
    if (
        model
        and model["model_status"] != "active"
        and config.daemon.halt_on_model_rejected
        and not switch.halted
    ):
        reason = f"model {model['model_id']} is {model['model_status']}: {model['model_reason']}"
        switch.halt("daemon", reason)
        alert(f"trading HALTED: {reason}", f"daemon.halt_on_model_rejected is on and {reason}.")


def _news(config: Config, journal: Journal, symbols: list[str], secrets: Secrets) -> Any:
    from bot.news.live import has_live_news

    if not has_live_news(config):
        return None
    from bot.news.ingest import NewsIngestor
    from bot.news.live import build_live_sources
    from bot.news.sentiment import SentimentScorer

    s = config.sentiment
    scorer = SentimentScorer(s.positive_threshold, s.negative_threshold)
    return NewsIngestor(build_live_sources(config, scorer, symbols=symbols, secrets=secrets), journal, scorer)
