"""The daemon's mail room: daily reports and alerts built and sent on their own thread.

A slow or broken mail server never delays a trade: the trading thread only queues work here.
Report requests coalesce: when a fast replay ends days faster than reports are drawn, a day whose
report is already behind a newer one is skipped (logged), so the backlog never grows.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import structlog

log = structlog.get_logger(__name__)


class ReportWorker:
    def __init__(self, make_report: Callable[[date], None], send_alert: Callable[[str, str], None]) -> None:
        self._make_report = make_report
        self._send_alert = send_alert
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._newest_day: date | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._run, name="reports", daemon=True)
        self._thread.start()

    def report(self, day: date) -> None:
        self._newest_day = day if self._newest_day is None else max(day, self._newest_day)
        self._put(("report", day))

    def alert(self, subject: str, text: str) -> None:
        self._put(("alert", (subject, text)))

    def drain(self, timeout: float) -> bool:
        """Wait until everything queued is done (True) or ``timeout`` s pass (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.empty() and self._idle.is_set():
                return True
            time.sleep(0.05)
        return False

    def _put(self, item: tuple[str, Any]) -> None:
        self._idle.clear()
        self._queue.put(item)

    def _run(self) -> None:
        while True:
            kind, payload = self._queue.get()
            try:
                if kind == "alert":
                    self._send_alert(*payload)
                elif payload < self._newest_day:
                    log.info("daily_report_skipped", day=payload.isoformat(), reason="a newer day is queued")
                else:
                    self._make_report(payload)
            except Exception as exc:  # noqa: BLE001 - best effort: log and go on
                log.error(
                    "report_worker_failed", kind=kind, error=f"{type(exc).__name__}: {exc}", exc_info=True
                )
            finally:
                if self._queue.empty():
                    self._idle.set()
