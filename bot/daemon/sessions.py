"""Trading sessions by New York date: holidays and early closes from a calendar.

The paper daemon asks the broker (Alpaca's ``/v2/calendar``); the dry run, which may have no
trading keys, asks the exchange calendar (``exchange_calendars`` XNYS). Both answer the same
question for the scheduler: is the market in session now, and when does today's session close?
Looked-up months are cached; a failing calendar call is the caller's to retry.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.calendar.timeframes import NEW_YORK

Session = tuple[datetime, datetime]  # open, close (tz-aware UTC)
Fetch = Callable[[date, date], dict[date, Session]]


class Sessions:
    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self._known: dict[date, Session] = {}
        self._span: tuple[date, date] | None = None

    def session(self, day: date) -> Session | None:
        """Open and close of the New York trading day ``day``; None on weekends and holidays."""
        if self._span is None or not self._span[0] <= day <= self._span[1]:
            first, last = day - timedelta(days=7), day + timedelta(days=40)
            self._known = self._fetch(first, last)
            self._span = (first, last)
        return self._known.get(day)

    def today(self, now: datetime) -> Session | None:
        return self.session(now.astimezone(NEW_YORK).date())

    def in_session(self, now: datetime, *, grace: timedelta = timedelta(0)) -> bool:
        """True from the open to the close (plus ``grace``, to collect the last bar) of today's session."""
        today = self.today(now)
        return today is not None and today[0] <= now <= today[1] + grace


def broker_sessions(broker: Any) -> Sessions:
    """Sessions from the broker's calendar (``AlpacaBroker.calendar``: naive New York times)."""

    def fetch(first: date, last: date) -> dict[date, Session]:
        out = {}
        for day in broker.calendar(first, last):
            out[day.date] = (_utc(day.open), _utc(day.close))
        return out

    return Sessions(fetch)


def exchange_sessions() -> Sessions:
    """Sessions from the NYSE calendar shipped with ``exchange_calendars`` (no network)."""

    def fetch(first: date, last: date) -> dict[date, Session]:
        from bot.calendar.exchange import xnys

        schedule = xnys(first.year, last.year).schedule.loc[first.isoformat() : last.isoformat()]
        return {
            label.date(): (open_.to_pydatetime().astimezone(UTC), close.to_pydatetime().astimezone(UTC))
            for label, open_, close in zip(schedule.index, schedule["open"], schedule["close"])
        }

    return Sessions(fetch)


def _utc(local: datetime) -> datetime:
    if local.tzinfo is None:
        local = local.replace(tzinfo=NEW_YORK)
    return local.astimezone(UTC)
