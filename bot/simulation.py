"""Simulation mode: replay history through the engine with a SimBroker, as fast as possible.

Per step of the market's timeline (the union of every symbol's bar start times):
1. the broker fills orders on the bars that start now (orders decided at an earlier close fill at
   this bar's open; stops and limits on its high/low) and marks positions to the close;
2. the engine decides at the close time of these bars, seeing nothing later;
3. equity is snapshotted at that close time.
"""

from __future__ import annotations

import sys
import time
from itertools import islice
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time as clock_time, timedelta

import numpy as np
import pandas as pd
import structlog

from bot.broker.base import Fill, Order
from bot.broker.sim import SimBroker
from bot.config import Config
from bot.data.base import BarFeed
from bot.data.sources import default_span, default_symbols
from bot.engine import Engine
from bot.errors import DataError
from bot.journal import Journal, iso
from bot.market import MarketView
from bot.timeframes import NEW_YORK, Timeframe, parse_timeframe
from risk.gate import RiskGate
from strategies import make_strategy

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
) -> SimulationResult:
    """Replay the configured history; everything seen and done goes to ``journal``."""
    started = time.perf_counter()
    symbols, timeframe, frames = load_history(config, feed)
    strategy = make_strategy(config.strategy, symbols)
    journal.start_run(
        run_id, "simulate", source=feed.name, synthetic=feed.synthetic, strategy=strategy.name,
        symbols=symbols, timeframe=timeframe.name,
        config={name: asdict(getattr(config, name)) for name in ("data", "broker", "strategy", "risk")},
    )  # fmt: skip
    for symbol, frame in frames.items():
        rows = zip((iso(t) for t in frame.index), *(frame[c].to_numpy().tolist() for c in frame.columns))
        journal.add_bars(feed.name, symbol, timeframe.name, rows)

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
    engine = Engine(
        run_id=run_id,
        strategy=strategy,
        gate=RiskGate.from_config(config.risk),
        broker=broker,
        journal=journal,
        rebalance_band=config.strategy.rebalance_band,
        cash_buffer=config.strategy.cash_buffer,
    )
    steps = len(view)
    decision_times: list[datetime] = []
    cash = np.empty(steps)
    equity = np.empty(steps)
    closes = np.full((steps, len(symbols)), np.nan)
    column = {s: i for i, s in enumerate(symbols)}
    bars_seen = 0
    bar_iter = _progress(range(steps), enabled=progress)
    for k in bar_iter:
        bars = view.advance()
        bars_seen += len(bars)
        open_before = {o.client_order_id: o.status for o in broker.open_orders()}
        known_before = len(broker.orders)
        fills = broker.on_bars(view.now, bars)
        if open_before:
            _journal_broker_changes(journal, run_id, broker, open_before, known_before, fills)
        decision_time = timeframe.close_time(view.now)
        clock.now = decision_time
        engine.decide(decision_time, view)
        account = broker.account()
        decision_times.append(decision_time)
        cash[k] = account.cash
        equity[k] = account.equity
        for symbol, bar in bars.items():
            closes[k, column[symbol]] = bar[3]
        journal.add_equity(run_id, decision_time, account.cash, account.equity, account.equity - account.cash)
    journal.flush()

    from bot.report.metrics import buy_and_hold_curve

    index = pd.DatetimeIndex(decision_times, name="ts")
    curve = pd.DataFrame({"cash": cash, "equity": equity}, index=index)
    curve["buy_and_hold"] = buy_and_hold_curve(pd.DataFrame(closes, index=index), config.broker.initial_cash)
    return SimulationResult(
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
        elapsed_seconds=time.perf_counter() - started,
        journal_seconds=journal.write_seconds,
    )


def _journal_broker_changes(
    journal: Journal, run_id: str, broker: SimBroker, open_before: dict, known_before: int,
    fills: list[Fill],
) -> None:
    """Record fills and every order whose status changed (filled, rejected at fill) or that the
    broker created during the bar (protective stops, even one born and filled in the same bar)."""
    for order in islice(broker.orders.values(), known_before, None):
        journal.record_order(run_id, order)
    for client_order_id, status in open_before.items():
        order = broker.get_order(client_order_id)
        if order is not None and order.status != status:
            journal.record_order(run_id, order)
    for fill in fills:
        journal.record_fill(run_id, fill)


class _Clock:
    """The simulated "now" (the current decision time), so orders carry it as submitted_at."""

    now: datetime | None = None

    def __call__(self) -> datetime:
        assert self.now is not None
        return self.now


def _progress(steps: range, *, enabled: bool | None):
    """A progress bar on stderr for long runs, only when stderr is a terminal."""
    if enabled is None:
        enabled = sys.stderr.isatty() and len(steps) > 2000
    if not enabled:
        return steps
    from tqdm import tqdm

    return tqdm(steps, file=sys.stderr, unit="step", leave=False)
