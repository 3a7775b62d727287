"""Protective exits the bot checks itself at every decision step, whatever the strategy says.

| rule | exits a long when the last close | config |
|---|---|---|
| ``stop_loss_backup`` | is at or below its stop level and *no* protective stop is open at the broker for it (the broker's stop went missing: rejected, cancelled, a position opened outside the bot) | ``risk.stop_loss_pct`` / ``risk.stop_loss_atr`` |
| ``take_profit`` | is at or above the average price x (1 + pct) | ``risk.take_profit_pct`` |
| ``trailing_stop`` | is at or below the highest close since the bot saw the position x (1 - pct) | ``risk.trailing_stop_pct`` |

An exit sets the symbol's target to flat for this step; the order then goes through the risk
gate like any other (an exit always passes). After an exit the symbol is not re-entered for the
rest of the New York day, so a strategy that still wants it does not buy straight back.

The protective stop at the broker is the first line (it works between steps and if the bot
dies); these checks act at the bar's close, so they are a backstop, not a replacement.
Take-profit and trailing stops live here, in the bot, so they do not survive the bot: the broker
stop does. The trailing peak is kept in memory from the first step the bot sees the position (a
restart starts it again from the current close: a later exit, never an earlier one). Longs only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.broker.base import Order, Position, Side
from bot.calendar.timeframes import NEW_YORK
from bot.engine.indicators import stop_level
from bot.engine.market import MarketView


@dataclass(frozen=True)
class Exit:
    symbol: str
    rule: str
    reason: str


class ProtectiveExits:
    def __init__(
        self,
        *,
        stop_loss_pct: float = 0.0,
        stop_loss_atr: float = 0.0,
        atr_window: int = 14,
        take_profit_pct: float = 0.0,
        trailing_stop_pct: float = 0.0,
    ) -> None:
        self.stop_loss_pct = stop_loss_pct
        self.stop_loss_atr = stop_loss_atr
        self.atr_window = atr_window
        self.take_profit_pct = take_profit_pct
        self.trailing_stop_pct = trailing_stop_pct
        self._peak: dict[str, float] = {}
        self._exited: dict[str, date] = {}

    @property
    def active(self) -> bool:
        return any(
            v > 0
            for v in (self.stop_loss_pct, self.stop_loss_atr, self.take_profit_pct, self.trailing_stop_pct)
        )

    def check(
        self, view: MarketView, positions: Mapping[str, Position], open_orders: Iterable[Order]
    ) -> list[Exit]:
        """The exits due at the view's step (one per symbol at most); ``confirm`` one once its sale
        is accepted."""
        protected = {o.symbol for o in open_orders if o.protective and o.request.side is Side.SELL}
        trailing = self.trailing_stop_pct > 0  # the peaks are kept for the trailing stop alone
        # with neither take-profit nor trailing stop on, only the backup stop can exit, and only a
        # long whose stop the broker does not hold (most steps: every long's stop is held)
        backup_only = not trailing and not self.take_profit_pct > 0
        if trailing:
            for symbol in [s for s in self._peak if s not in positions or positions[s].qty <= 0]:
                del self._peak[symbol]  # flat (or short): the next entry starts a new peak
        exits = []
        for symbol, position in sorted(positions.items()):
            if backup_only and symbol in protected:
                continue
            close = view.last_close(symbol) if symbol in view.symbols else None
            if position.qty <= 0 or close is None:
                continue
            peak = close
            if trailing:
                peak = self._peak[symbol] = max(self._peak.get(symbol, close), close)
            found = self._first_exit(symbol, position, close, peak, view, protected)
            if found is not None:
                exits.append(found)
        return exits

    def confirm(self, symbol: str, now: datetime) -> None:
        """The exit's sale was accepted by the broker: no re-entry for the rest of the day. (A
        refused or unsent sale confirms nothing: the exit is found again at the next step.)"""
        self._exited[symbol] = now.astimezone(NEW_YORK).date()

    def blocked(self, symbol: str, now: datetime) -> bool:
        """True when ``symbol`` had a protective exit earlier this New York day."""
        return self.blocked_on(symbol, now.astimezone(NEW_YORK).date())

    def blocked_on(self, symbol: str, day: date) -> bool:
        """``blocked`` on New York date ``day`` (a replay's quiet steps know each step's date)."""
        exited = self._exited.get(symbol)
        return exited is not None and exited == day

    def _first_exit(
        self,
        symbol: str,
        position: Position,
        close: float,
        peak: float,
        view: MarketView,
        protected: set[str],
    ) -> Exit | None:
        # the backup is moot while the broker holds a stop (the usual case): no level to compute
        level = None if symbol in protected else self._stop_level(symbol, position.avg_price, view)
        if level is not None and close <= level:
            return Exit(
                symbol,
                "stop_loss_backup",
                f"close {close:.2f} <= stop {level:.2f} and no stop is open at the broker",
            )
        if self.take_profit_pct > 0 and close >= position.avg_price * (1 + self.take_profit_pct):
            return Exit(
                symbol,
                "take_profit",
                f"close {close:.2f} >= {position.avg_price:.2f} x (1 + {self.take_profit_pct:g})",
            )
        if self.trailing_stop_pct > 0 and close <= peak * (1 - self.trailing_stop_pct):
            return Exit(
                symbol,
                "trailing_stop",
                f"close {close:.2f} <= peak {peak:.2f} x (1 - {self.trailing_stop_pct:g})",
            )
        return None

    def _stop_level(self, symbol: str, avg_price: float, view: MarketView) -> float | None:
        return stop_level(
            avg_price,
            view,
            symbol,
            pct=self.stop_loss_pct,
            atr_multiple=self.stop_loss_atr,
            atr_window=self.atr_window,
        )


def protective_exits(risk: Any) -> ProtectiveExits | None:
    """The exits ``[risk]`` asks for (a ``RiskConfig``), or None when none is on (an absent key is
    off: 0 here)."""
    exits = ProtectiveExits(
        stop_loss_pct=risk.stop_loss_pct,
        stop_loss_atr=risk.stop_loss_atr or 0.0,
        atr_window=risk.atr_window,
        take_profit_pct=risk.take_profit_pct or 0.0,
        trailing_stop_pct=risk.trailing_stop_pct or 0.0,
    )
    return exits if exits.active else None
