"""The decision step shared by every mode (simulation, dry run, paper).

At a decision time t (the close of the bars just seen) ``Engine.decide``:
forecasts (journaled as predictions) -> strategy targets -> planned orders (sells first;
buys cut to what the buying power, plus the sells' expected proceeds, can pay for less
``cash_buffer``) -> risk gate -> journal -> broker. Every proposed order becomes a journaled decision with the gate's verdict; an
allowed order is journaled (status ``pending``) *before* it is sent, and again with the broker's
answer, so a crash never leaves an order the journal does not know.

Before the strategy runs, the gate judges the account as a whole (daily loss, drawdown). A limit
newly breached trips the kill switch (durable, in the journal) and the engine flattens every
position with ``broker.close_all`` so the halted account carries no risk. With ``stop_loss_pct``
and/or ``stop_loss_atr`` every entry carries a protective stop (``price x (1 - pct)``, ``price - k x
ATR``; the nearer of the two) held at the broker. Protective exits checked by the bot itself
(``bot.engine.exits``: a backup for a missing broker stop, take-profit, trailing stop) override the
strategy's targets. An order for a symbol whose stop is open at the broker first cancels that stop
(confirmed) and re-protects what is left afterwards (``bot.engine.protection``): Alpaca refuses to sell
shares a stop holds, and to buy next to an open stop sell.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime
from typing import Protocol

import structlog

from bot.broker.base import (
    Account,
    Broker,
    Order,
    OrderRequest,
    OrderStatus,
    Side,
    broker_day_trades,
    pending_quantities,
)
from bot.engine.exits import ProtectiveExits
from bot.engine.indicators import stop_level
from bot.engine.market import MarketView
from bot.engine.planner import planned_quantity
from bot.engine.protection import Protection
from bot.journal.store import Journal
from risk.base import Action, OrderIntent, RiskContext, Verdict
from risk.equity_tracker import EquityTracker
from risk.gate import RiskGate
from strategies.base import Strategy

log = structlog.get_logger(__name__)

_NONE_EXITING: frozenset[str] = frozenset()  # no protective exits this step (most steps)
_NOT_ASKED = object()  # a step's size cap before any symbol needed it


class Forecaster(Protocol):
    """The forecast slot, per symbol at the view's current step: next-bar log-return forecasts
    and next-bar close-to-close return variance forecasts (each empty when its head is not usable)."""

    model_id: str

    def forecasts(self, view: MarketView) -> dict[str, float]: ...

    def volatility(self, view: MarketView) -> dict[str, float]: ...


def client_order_id(strategy: str, symbol: str, decision_time: datetime) -> str:
    """Deterministic id per (strategy, symbol, decision time): a retry or restart reuses it.
    The time as ``%Y%m%dT%H%M%SZ`` of its own fields; spelled field by field (``strftime`` took
    twice as long), which is the same text for years 1000 to 9999."""
    t = decision_time
    if not 1000 <= t.year <= 9999:
        return f"{strategy}-{symbol}-{t:%Y%m%dT%H%M%SZ}"
    return "%s-%s-%04d%02d%02dT%02d%02d%02dZ" % (  # noqa: UP031 (an f-string took 1.7x as long)
        strategy,
        symbol,
        t.year,
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.second,
    )


def _bars_behind(view: MarketView) -> dict[str, int]:
    behind = {}
    for symbol in view.symbols:
        steps = view.bars_behind(symbol)
        if steps:
            behind[symbol] = steps
    return behind


class Engine:
    def __init__(
        self,
        *,
        run_id: str,
        strategy: Strategy,
        gate: RiskGate,
        broker: Broker,
        journal: Journal,
        rebalance_band: float,
        cash_buffer: float = 0.0,
        forecaster: Forecaster | None = None,
        stop_loss_pct: float = 0.0,
        stop_loss_atr: float = 0.0,
        atr_window: int = 14,
        exits: ProtectiveExits | None = None,
        contain_model_failures: bool = False,
        protection_log_level: str = "info",
    ) -> None:
        self.run_id = run_id
        self.strategy = strategy
        self.gate = gate
        self.broker = broker
        self.journal = journal
        self.rebalance_band = rebalance_band
        self.cash_buffer = cash_buffer
        self.forecaster = forecaster
        self.stop_loss_pct = stop_loss_pct
        self.stop_loss_atr = stop_loss_atr
        self.atr_window = atr_window
        self.exits = exits
        #: the daemon's choice: a forecaster that raises halts entries instead of failing each step
        #: (a simulation lets it raise: a run that silently lost its model would report wrong figures)
        self.contain_model_failures = contain_model_failures
        #: why new entries are refused (set once the model failed); exits and reductions go on
        self.entries_halted: str | None = None
        self.protection = Protection(broker, journal, run_id, log_level=protection_log_level)
        self.equity = EquityTracker()
        #: how often each risk verdict was reached ("allow", "deny:<rule>", "exit:<rule>", ...)
        self.verdicts: Counter[str] = Counter()
        self._logged_verdict: dict[str, str] = {}  # symbol -> its last verdict ("deny:halted", ...)

    def decide(
        self, decision_time: datetime, view: MarketView, account: Account | None = None
    ) -> list[Order]:
        """One decision step at ``decision_time`` over what ``view`` shows; returns sent orders.

        ``account``: the broker's account as the caller just read it (a simulation reads it once
        per step, for this and for its equity snapshot); None reads it here."""
        forecasts = risk = None
        if self.forecaster is not None:
            forecasts, risk = self._forecast(decision_time, view)
        if account is None:
            account = self.broker.account()
        equity = self.equity
        account_equity = account.equity
        equity.observe(decision_time, account_equity)
        positions = self.broker.positions()
        open_orders = self.broker.open_orders()
        if self.protection.owed:  # shares whose stop was released for an order, not yet re-protected
            open_orders += self.protection.keep(decision_time, positions, open_orders)
        context = RiskContext(
            account_equity,
            account.cash,
            positions,
            pending_quantities(open_orders) if open_orders else {},
            equity.day_start,
            equity.peak,
            decision_time,
            broker_day_trades=broker_day_trades(account) if account.extra else None,
        )
        verdict = self.gate.check_account(context)
        if verdict.action is Action.HALT and self.gate.newly_halted:
            return self._halt_and_flatten(decision_time, verdict)
        targets = self.strategy.targets(view, forecasts, risk)
        exiting: frozenset[str] | set[str] = _NONE_EXITING
        if self.exits is not None:
            targets, exiting = self._apply_exits(decision_time, view, positions, open_orders, targets)
        if not targets:
            return []
        cap: float | None | object = _NOT_ASKED  # the gate's size cap, asked once a symbol needs it
        planned = []
        pending = context.pending
        for symbol, weight in targets.items():
            held = positions.get(symbol)
            current = (held.qty if held else 0) + pending.get(symbol, 0)  # context.position_qty
            if not weight and not current:
                continue  # flat and staying flat: nothing to size (the common case, every step)
            price = view.last_close(symbol)
            if price is None:
                continue
            if cap is _NOT_ASKED:
                cap = self.gate.position_cap(account_equity)
            qty = planned_quantity(weight, account_equity, price, current, cap, self.rebalance_band)
            if qty and self.entries_halted and abs(current + qty) > abs(current):
                self.verdicts["deny:model_unusable"] += 1  # counted, not journaled: it repeats every step
                continue
            if qty:
                planned.append((qty, symbol, weight, current, price))
        if not planned:
            return []  # nothing to judge: the per-order rules have no work this step
        # the full context (per-order rules read how stale each symbol is), made directly:
        # dataclasses.replace costs several times a constructor call
        context = RiskContext(
            context.equity,
            context.cash,
            positions,
            context.pending,
            day_start_equity=context.day_start_equity,
            peak_equity=context.peak_equity,
            now=decision_time,
            bars_behind=_bars_behind(view),
            broker_day_trades=context.broker_day_trades,
        )
        # sells first: their expected proceeds count toward the buying power of the buys
        planned.sort(key=lambda p: p[0] > 0)
        spendable = account.buying_power + sum(-p[0] * p[4] for p in planned if p[0] < 0)
        sent = []
        for qty, symbol, weight, current, price in planned:
            if qty > 0:
                # buy what the account can pay for, keeping a buffer for the next open's gap
                affordable = math.floor(spendable * (1 - self.cash_buffer) / price)
                qty = min(qty, max(affordable, 0))
                if qty == 0:
                    log.debug("buy_skipped_no_cash", symbol=symbol, spendable=spendable)
                    continue
                spendable -= qty * price
            intent = OrderIntent(
                client_order_id=client_order_id(self.strategy.name, symbol, decision_time),
                symbol=symbol,
                side=Side.BUY if qty > 0 else Side.SELL,
                qty=abs(qty),
                price=price,
                ts=decision_time,
            )
            order = self._gate_and_send(
                intent, weight, current, context, open_orders, self.stop_price(symbol, price, view)
            )
            if order is not None:
                sent.append(order)
                if symbol in exiting and order.status is not OrderStatus.REJECTED:
                    self.exits.confirm(symbol, decision_time)  # exited: no re-entry today
        return sent

    def _forecast(self, decision_time: datetime, view: MarketView) -> tuple[dict | None, dict | None]:
        """The model's forecasts and variances for this step, journaled (None, None without a model)."""
        if self.forecaster is None:
            return None, None
        try:
            forecasts = self.forecaster.forecasts(view)
            risk = self.forecaster.volatility(view)
        except Exception as exc:  # noqa: BLE001 - see contain_model_failures
            if not self.contain_model_failures:
                raise
            self.model_failed(f"{type(exc).__name__}: {exc}", exc_info=True)
            return None, None
        model_id = self.forecaster.model_id
        for symbol, value in forecasts.items():
            self.journal.add_prediction(self.run_id, decision_time, symbol, model_id, value)
        for symbol, value in risk.items():  # the risk head's rows: model id + "/risk", a variance
            self.journal.add_prediction(self.run_id, decision_time, symbol, f"{model_id}/risk", value)
        return forecasts, risk

    def model_failed(self, reason: str, *, exc_info: bool = False) -> None:
        """Drop the model and refuse new entries from now on (exits and reductions go on); one log line."""
        model_id = getattr(self.forecaster, "model_id", None)
        self.forecaster = None
        self.entries_halted = f"model {model_id} unusable: {reason}"
        log.error("model_unusable_entries_halted", model_id=model_id, reason=reason, exc_info=exc_info)

    def _apply_exits(
        self,
        decision_time: datetime,
        view: MarketView,
        positions: dict,
        open_orders: list[Order],
        targets: dict[str, float],
    ) -> tuple[dict[str, float], set[str]]:
        """Protective exits (``bot.engine.exits``) override the strategy: flat now, and (once the sale is
        accepted) no re-entry today. Returns the targets and the symbols exiting."""
        targets = dict(targets)
        found_all = self.exits.check(view, positions, open_orders)
        for found in found_all:
            targets[found.symbol] = 0.0
            self.journal.add_decision(
                self.run_id,
                decision_time,
                strategy=self.strategy.name,
                symbol=found.symbol,
                target_weight=0.0,
                current_qty=positions[found.symbol].qty,
                requested_qty=0,
                approved_qty=0,
                verdict="exit",
                rule=found.rule,
                reason=found.reason,
                client_order_id=None,
            )
            self.verdicts[f"exit:{found.rule}"] += 1
            log.info("protective_exit", symbol=found.symbol, rule=found.rule, reason=found.reason)
        for symbol, weight in targets.items():
            if weight > 0 and self.exits.blocked(symbol, decision_time):
                targets[symbol] = 0.0  # exited earlier today: stay out until tomorrow
        return targets, {found.symbol for found in found_all}

    def stop_price(self, symbol: str, price: float, view: MarketView) -> float | None:
        """Where an entry's protective stop goes (``bot.engine.indicators.stop_level``), in cents."""
        level = stop_level(
            price,
            view,
            symbol,
            pct=self.stop_loss_pct,
            atr_multiple=self.stop_loss_atr,
            atr_window=self.atr_window,
        )
        return round(level, 2) if level is not None else None

    def _gate_and_send(
        self,
        intent: OrderIntent,
        weight: float,
        current: int,
        context: RiskContext,
        open_orders: list[Order],
        stop_price: float | None = None,
    ) -> Order | None:
        result = self.gate.evaluate(intent, context)
        verdict = result.verdict
        approved = result.intent.qty if result.intent else 0
        self.journal.add_decision(
            self.run_id,
            intent.ts,
            strategy=self.strategy.name,
            symbol=intent.symbol,
            target_weight=weight,
            current_qty=current,
            requested_qty=intent.signed_qty,
            approved_qty=approved if intent.side is Side.BUY else -approved,
            verdict=str(verdict.action),
            rule=verdict.rule or None,
            reason=verdict.reason or None,
            client_order_id=intent.client_order_id if result.intent else None,
        )
        key = str(verdict.action) + (f":{verdict.rule}" if verdict.rule else "")
        self.verdicts[key] += 1
        # the journal keeps every verdict; the log says a symbol's verdict when it changes, not at
        # every step it repeats (a halted run denied each entry at every step: thousands of lines)
        repeated = self._logged_verdict.get(intent.symbol) == key
        self._logged_verdict[intent.symbol] = key
        if verdict.action is not Action.ALLOW and not repeated:
            log.info(
                "risk_verdict",
                symbol=intent.symbol,
                action=str(verdict.action),
                rule=verdict.rule,
                reason=verdict.reason,
            )
        if result.intent is None:
            return None
        chosen = result.intent
        stop = None
        if stop_price is not None and chosen.side is Side.BUY and current >= 0:
            # an entry (or add) to a long: the broker holds the stop, so it works between steps
            stop = stop_price
        stops = Protection.stops_of(chosen.symbol, open_orders)
        old_stop = None
        if stops:  # the broker would refuse this order next to them (held shares, wash trade)
            old_stop = self.protection.release(stops, intent.ts)
            if old_stop is None:
                self.verdicts["deferred:protection"] += 1
                return None
            for released in stops:
                open_orders.remove(released)
        request = OrderRequest(
            chosen.client_order_id, chosen.symbol, chosen.side, chosen.qty, protective_stop=stop
        )
        self.journal.record_order(self.run_id, Order(request, intent.ts, OrderStatus.PENDING))
        order = self.broker.submit(request)
        self.journal.record_order(self.run_id, order)
        if order.status is OrderStatus.REJECTED:
            log.warning("order_rejected", client_order_id=order.client_order_id, reason=order.reason)
        if old_stop is not None:
            self._reprotect(chosen, order, context, old_stop, open_orders)
        return order

    def _reprotect(
        self,
        chosen: OrderIntent,
        order: Order,
        context: RiskContext,
        old_stop: float,
        open_orders: list[Order],
    ) -> None:
        """After an order that needed the symbol's stops cancelled: protect what stays held."""
        held = context.positions[chosen.symbol].qty if chosen.symbol in context.positions else 0
        placed = self.protection.after(
            order, held, context.pending.get(chosen.symbol, 0), old_stop, chosen.ts
        )
        if placed is not None:
            open_orders.append(placed)

    def _halt_and_flatten(self, decision_time: datetime, verdict: Verdict) -> list[Order]:
        """The gate just tripped the kill switch: journal why, then close every position."""
        self.journal.add_decision(
            self.run_id,
            decision_time,
            strategy=self.strategy.name,
            symbol="*",
            target_weight=None,
            current_qty=0,
            requested_qty=0,
            approved_qty=0,
            verdict=str(verdict.action),
            rule=verdict.rule or None,
            reason=verdict.reason or None,
            client_order_id=None,
        )
        self.verdicts[f"{verdict.action}:{verdict.rule}"] += 1
        log.warning("trading_halted", rule=verdict.rule, reason=verdict.reason)
        # only exposure-reducing orders, the ones a halted gate lets through anyway
        orders = self.broker.close_all()
        for order in orders:
            self.journal.record_order(self.run_id, order)
        return orders
