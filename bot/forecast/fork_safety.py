"""When this process may fork a worker: the one rule of the workers ``evaluate`` forks
(``bot.forecast.risk_baselines``, ``bot.report.forecast_worker``)."""

from __future__ import annotations

import multiprocessing
import sys
import threading


def fork_is_safe() -> bool:
    """One thread, no TensorFlow and a platform that forks: a thread holding a lock (an import
    lock, say) at the fork would leave it held in the child, and TensorFlow's thread pools would
    be copied half way."""
    return (
        threading.active_count() == 1
        and "tensorflow" not in sys.modules
        and "fork" in multiprocessing.get_all_start_methods()
    )
