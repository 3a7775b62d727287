"""One trading step of the daemon, the same engine as a simulation's:

new bars -> journal -> venue fills (SimBroker) or order polling (Alpaca) -> window -> decision at
the close of the newest bar -> equity snapshot. A replay decides at every step; the live loop
decides only on the newest bar of a batch (after downtime, old bars warm the window but a stale
decision is never sent).

It also owns the daemon's reactions that touch the broker: the kill switch noticed (cancel open
orders and, unless the halt keeps positions, flatten), broker failures counted (``max_broker_failures``
in a row trips the kill switch), automatic trips alerted, and the stale-data watchdog's state.
Everything here runs on the scheduler's single trading thread: no locks, no overlap.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import structlog

from bot.calendar.timeframes import NEW_YORK, Timeframe
from bot.daemon.bars import BarWindow, Step, period_seconds
from bot.daemon.venue import Venue, journal_orders
from bot.engine.engine import Engine
from bot.errors import TemporaryError
from bot.journal.heartbeat import beat
from bot.journal.store import Journal, iso
from risk.killswitch import KillSwitch

log = structlog.get_logger(__name__)

Alert = Callable[[str, str], None]  # (subject, text): never raises, never blocks trading


class TradingLoop:
    def __init__(
        self,
        *,
        run_id: str,
        mode: str,
        source: str,
        journal: Journal,
        engine: Engine,
        venue: Venue,
        window: BarWindow,
        timeframe: Timeframe,
        switch: KillSwitch,
        decide_each_step: bool,
        max_broker_failures: int,
        alert: Alert,
        on_day_end: Callable[[date], None] | None = None,
    ) -> None:
        self.run_id = run_id
        self.mode = mode
        self.source = source
        self.journal = journal
        self.engine = engine
        self.venue = venue
        self.window = window
        self.timeframe = timeframe
        self.switch = switch
        self.decide_each_step = decide_each_step
        self.max_broker_failures = max_broker_failures
        self.alert = alert
        self.on_day_end = on_day_end
        self.steps = 0
        self.bars = 0
        self.last_decision: datetime | None = None
        self.last_bar_at: datetime | None = None  # wall-clock time the newest bar arrived
        self.broker_failures = 0
        self.stale = False
        #: held by every trading job (see ``bot.daemon.schedule``)
        self.lock = threading.Lock()
        #: set on shutdown: a batch of replayed steps stops after the current one
        self.stopping = False
        # None even when starting halted: the first notice flattens what a restored account holds
        self._halt_seen: Any = None
        self._day: date | None = None

    # ---- bars and decisions --------------------------------------------------------------------

    def warm(self, steps: list[Step]) -> None:
        """Bars the strategy may look back on, but that were decided before (or are too old)."""
        for start, bars in steps:
            self._journal_bars(start, bars)
            self.window.add(start, bars)
        if steps:
            self._day = self._ny_day(self.timeframe.close_time(steps[-1][0]))

    def on_steps(self, steps: list[Step]) -> None:
        """Process new closed bars (see the module docstring)."""
        if not steps:
            return
        self.last_bar_at = datetime.now(UTC)
        self.stale = False
        for k, (start, bars) in enumerate(steps):
            if self.stopping:
                return  # the rest is replayed again after a restart (the journal says where)
            close = self.timeframe.close_time(start)
            self._journal_bars(start, bars)
            self.bars += len(bars)
            self.steps += 1
            day = self._ny_day(close)
            if self._day is not None and day != self._day and self.on_day_end is not None:
                self.on_day_end(self._day)
            self._day = day
            # a failed order poll is counted and retried at the next step; the bars still count
            self._broker_call(lambda: self.venue.on_bars(start, bars), "fills", proves_health=False)
            self.window.add(start, bars)
            if self.decide_each_step or k == len(steps) - 1:
                self._decide(close)
            self._snapshot(close)
        # a restart resumes after the last recorded step: keep that no more than a batch behind
        self.journal.flush()

    def _decide(self, close: datetime) -> None:
        if self.switch.halted:
            return  # halted: no decisions; the halt already flattened (see notice_halt)
        was = self.engine.gate.halted
        if self._broker_call(lambda: self.engine.decide(close, self.window.view()), "decision"):
            self.last_decision = close
        if not was and self.engine.gate.halted:
            state = self.switch.state()
            self._halt_seen = state
            self.alert(
                f"trading HALTED: {state.reason}",
                f"The daemon tripped the kill switch at {state.at}: {state.reason}\n"
                "Every position was closed. Resume with `python -m bot resume` after checking.",
            )

    def _snapshot(self, close: datetime) -> None:
        def record() -> None:
            account = self.venue.broker.account()
            self.journal.add_equity(
                self.run_id, close, account.cash, account.equity, account.equity - account.cash
            )

        self._broker_call(record, "account")

    def _journal_bars(self, start: datetime, bars: dict) -> None:
        for symbol, bar in bars.items():
            self.journal.add_bars(self.source, symbol, self.timeframe.name, [(iso(start), *bar)])

    @staticmethod
    def _ny_day(t: datetime) -> date:
        return t.astimezone(NEW_YORK).date()

    # ---- the kill switch -----------------------------------------------------------------------

    def notice_halt(self) -> None:
        """Called (on the trading thread) when the kill switch is found HALTED: cancel every open
        order and, unless the halt keeps positions, close every position. Once per halt."""
        state = self.switch.state()
        if not state.halted:
            if self._halt_seen is not None:
                log.warning("kill_switch_cleared", by=state.by, reason=state.reason)
                self._halt_seen = None
            return
        if self._halt_seen is not None and self._halt_seen.at == state.at:
            return
        self._halt_seen = state
        log.warning(
            "kill_switch_noticed", by=state.by, reason=state.reason, keep_positions=state.keep_positions
        )
        broker = self.venue.broker

        def flatten() -> None:
            orders = broker.cancel_all() if state.keep_positions else broker.close_all()
            journal_orders(self.journal, self.run_id, orders)
            log.warning("halt_flattened", orders=len(orders), keep_positions=state.keep_positions)

        if not self._broker_call(flatten, "flatten"):
            self._halt_seen = None  # try again at the next poll

    # ---- broker failures -----------------------------------------------------------------------

    def _broker_call(self, call: Callable[[], Any], what: str, *, proves_health: bool = True) -> bool:
        """Run a broker-touching call; a ``TemporaryError`` (retries exhausted) is logged and
        counted, and ``max_broker_failures`` in a row trip the kill switch. Only a call that
        always reaches the broker (``proves_health``) resets the count: polling no open orders
        sends nothing, so its success proves nothing."""
        try:
            call()
        except TemporaryError as exc:
            self.broker_failures += 1
            log.error("broker_call_failed", what=what, failures_in_a_row=self.broker_failures, error=str(exc))
            limit = self.max_broker_failures
            if limit and self.broker_failures >= limit and not self.switch.halted:
                reason = f"{self.broker_failures} broker calls failed in a row (last: {exc})"
                self.switch.halt("daemon", reason)
                self.alert(f"trading HALTED: {reason}", f"The daemon tripped the kill switch: {reason}")
            return False
        if proves_health:
            self.broker_failures = 0
        return True

    # ---- supervision ---------------------------------------------------------------------------

    def check_stale(self, now: datetime, in_session: bool, stale_after_bars: int) -> None:
        """The watchdog: during the session, no new bar for ``stale_after_bars`` periods is stale
        (logged once; new entries are blocked by the engine's stale-data rule meanwhile). The same
        key as that rule, ``risk.max_stale_bars``; 0 turns both off."""
        if not in_session or self.last_bar_at is None or stale_after_bars <= 0:
            return
        late = now - self.last_bar_at > timedelta(seconds=stale_after_bars * period_seconds(self.timeframe))
        if late and not self.stale:
            log.warning("bars_stale", last_bar_arrived=iso(self.last_bar_at), bars=stale_after_bars)
        self.stale = late

    def heartbeat(self, extra: dict[str, Any] | None = None) -> None:
        beat(
            self.journal,
            {
                "run_id": self.run_id,
                "mode": self.mode,
                "steps": self.steps,
                "bars": self.bars,
                "last_decision": iso(self.last_decision) if self.last_decision else None,
                "stale": self.stale,
                "halted": self.switch.halted,
                **(extra or {}),
            },
        )
        self.journal.flush()
