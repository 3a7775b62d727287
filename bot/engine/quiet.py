"""Quiet steps: a replay's steps where nothing can happen, run without the full decision step.

Most steps of a replay change nothing but marks: no order is open (or only protective stops that
this bar does not reach), no account limit is near, and the strategy's targets leave every
position where it is. ``QuietSteps.run`` walks such steps with the least work that still leaves
every trace the full step leaves (the broker's marks, the equity tracker's day start and peak,
the protective exits' peaks, one equity snapshot a step), and hands back the first step where
anything *could* happen; that step runs in full (``Engine.decide``), as does everything after it
until the next quiet stretch. Nothing is decided here: a quiet step is one the full step would
have ended without an order, a verdict or a journal row, and this module only recognises it.

A step is quiet when, with the state the last full step left (checked per step, in the full
step's order):
1. every open order is a protective stop sell, and this step's bar does not reach it
   (``bot.broker.sim_trigger.trigger``'s rule, read for a whole stretch at once from
   ``MarketView.sell_stop_floors``: the fill step would fill nothing);
2. the equity (cash plus positions at this step's closes, summed as ``SimBroker.account`` sums
   it), once the equity tracker has seen it, breaches no account limit
   (``RiskGate.account_breached``: the rules' own checks, nothing tripped);
3. no protective exit is due (``ProtectiveExits.check``);
4. for every symbol the strategy has an opinion on (``Strategy.target_path``), the planner
   proposes no order (``bot.engine.planner``, with the gate's size cap, exactly as ``decide``).
Whole replays are only eligible without a forecaster (its rows are journaled every step), with no
stop owed re-protection, and with a gate whose account rules read only equity figures. Once the
replay's kill switch has tripped, nothing is decided any more (``run_simulation``, as the daemon):
then a step is quiet whenever condition 1 holds, in every replay.

Every state change made while checking a step (``EquityTracker.observe``, the exits' peaks) is
one the full step repeats with the same values and leaves as it is, so a step found not quiet
after them runs in full unchanged. ``tests/engine/test_quiet_steps.py`` replays the same runs
with and without quiet steps and compares everything journaled.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from bot.broker.base import OrderRequest, OrderType, Side
from bot.broker.sim import SimBroker
from bot.engine.engine import Engine
from bot.engine.market import MarketView
from bot.engine.planner import planned_quantity


class QuietSteps:
    """Finds and runs the quiet steps of one replay (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        broker: SimBroker,
        view: MarketView,
        starts: Sequence[datetime],
        days: Sequence[date],
    ) -> None:
        self.engine = engine
        self.broker = broker
        self.view = view
        self.starts = starts
        self.days = days  # each step's New York date: the equity tracker's day, without the time
        paths = engine.strategy.target_path(view)
        eligible = (
            paths is not None and engine.forecaster is None and engine.gate.judges_account_by_equity_only
        )
        #: per symbol the strategy's target at every step (None: no opinion), in its order
        self.paths: list[tuple[str, list[float | None]]] = list(paths.items()) if eligible else []
        self.enabled = eligible
        #: how many steps ran quiet (benchmarks and tests read it)
        self.skipped = 0
        self._closes: dict[str, list[float | None]] | None = None  # per symbol, its last close by step
        #: per (symbol, stop level): (a step k, the first step from k on whose bar fills such a
        #: stop, or the end): it depends on the bars and the level alone
        self._fills: dict[tuple[str, float | None], tuple[int, int]] = {}

    def _fill_step(self, symbol: str, request: OrderRequest, first: int, end: int) -> int:
        """The first step in [first, end) whose bar fills this protective sell stop (``trigger``'s
        rule, from ``MarketView.sell_stop_floors``), else ``end``. A stop lives through many
        quiet stretches and its level does not change: found once, the step answers every later
        stretch that starts at or before it."""
        key = (symbol, request.stop_price)
        known = self._fills.get(key)
        if known is not None and known[0] <= first <= known[1]:
            return known[1]
        reached = self.view.sell_stop_floors(symbol)[first:end] <= request.stop_price
        at = int(reached.argmax())
        step = first + at if reached.size and reached[at] else end
        self._fills[key] = (first, step)
        return step

    def run(self, first: int, cash_out: list[float], equity_out: list[float]) -> int:
        """Run the quiet steps from ``first`` on, appending each one's cash and equity; return the
        first step that must run in full (``len(view)`` at the end of the replay). Leaves the view,
        the broker and the engine's trackers as the full steps would have."""
        engine, broker, view = self.engine, self.broker, self.view
        # a halted replay decides nothing (see run_simulation): only a fill can make a step busy
        deciding = not engine.gate.halted
        if deciding and (not self.enabled or engine.protection.owed):
            return first
        open_orders = broker.open_orders()
        stops = []
        for order in open_orders:
            request = order.request
            if not (order.protective and request.side is Side.SELL and request.type is OrderType.STOP):
                return first  # an order that may fill: the fill step has work
            stops.append((request.symbol, request))
        if self._closes is None:
            self._closes = {s: view.last_close_by_step(s) for s in view.symbols}
        closes = self._closes
        quantities = broker.held_quantities()
        # (closes, qty) in the order SimBroker.account sums the positions
        held = [(closes[symbol], qty) for symbol, qty in quantities.items()]
        # (symbol, path, closes, current qty) of every symbol the strategy may have an opinion on
        planned = [(s, path, closes[s], quantities.get(s, 0)) for s, path in self.paths] if deciding else []
        cash = broker.cash
        gate, exits = engine.gate, engine.exits
        positions = broker.positions() if exits is not None else None  # the exits read the records
        tracker, cap_at = engine.equity, gate.position_cap_function()
        # with no account rule on, nothing reads the tracker between these steps: it observes
        # the stretch at once, after it (the step that ends it observes again, with the same value)
        breached = gate.account_breached if gate.judges_account else None
        observe = tracker.observe_on if breached is not None else None
        band = engine.rebalance_band
        days = self.days
        end = len(view)
        k = first
        # the first step whose bar fills one of the stops (its fill step has work): found at once
        last = min((self._fill_step(symbol, request, first, end) for symbol, request in stops), default=end)
        while k < last:
            value = 0.0
            for symbol_closes, qty in held:  # the order and arithmetic of SimBroker.account
                value += qty * symbol_closes[k]
            equity = cash + value
            if not deciding:
                cash_out.append(cash)
                equity_out.append(equity)
                k += 1
                continue
            if breached is not None:
                observe(days[k], equity)
                if breached(equity, cash, tracker.day_start, tracker.peak):
                    break
            if exits is not None:
                view.step = k
                if positions and exits.check(view, positions, open_orders):
                    break
            cap: float | None | bool = False  # the gate's size cap, asked once a symbol needs it
            trades = False
            for symbol, path, symbol_closes, current in planned:  # Engine.decide's planning loop
                weight = path[k]
                if weight is None:
                    continue  # no opinion: the position is left alone
                if weight > 0 and exits is not None and exits.blocked_on(symbol, days[k]):
                    weight = 0.0
                if not weight and not current:
                    continue
                price = symbol_closes[k]
                if price is None:
                    continue
                if cap is False:
                    cap = cap_at(equity) if cap_at is not None else None
                if planned_quantity(weight, equity, price, current, cap, band):
                    trades = True
                    break
            if trades:
                break
            cash_out.append(cash)
            equity_out.append(equity)
            k += 1
        if k > first:
            if deciding and breached is None:
                tracker.observe_stretch(days[first:k], equity_out[first - k :])
            view.step = k - 1
            marks = {s: c for s in view.symbols if (c := closes[s][k - 1]) is not None}
            broker.pass_quiet(self.starts[k - 1], marks)
            self.skipped += k - first
        else:
            view.step = first - 1
        return k
