"""The NYSE calendar (``exchange_calendars`` "XNYS"): holidays and early closes, no network.

One cached loader for the sample market, the dry run's sessions and the daily report. Imported
lazily by its callers: ``exchange_calendars`` takes about half a second to import.
"""

from __future__ import annotations

import warnings
from functools import cache
from typing import Any


@cache
def xnys(first_year: int, last_year: int) -> Any:
    """The XNYS calendar covering whole years ``first_year..last_year`` (loaded once per process)."""
    import exchange_calendars

    with warnings.catch_warnings():
        # exchange_calendars 4.x reads tz-aware Series.values, which pandas 3 deprecates; harmless
        warnings.simplefilter("ignore", DeprecationWarning)
        return exchange_calendars.get_calendar("XNYS", start=f"{first_year}-01-01", end=f"{last_year}-12-31")
