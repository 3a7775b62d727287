"""The daemon's APScheduler (3.x) jobs, in the New York timezone.

| job | trigger | executor |
|---|---|---|
| ``bars`` (new bars -> fills -> decision -> equity) | live: each bar close + ``bar_delay_seconds`` during the session (calendar: holidays, early closes); replay: the pace | trading |
| ``news`` | every ``news_poll_seconds`` (when feeds are configured; own journal connection) | news |
| ``reconcile`` | every ``reconcile_seconds`` (paper account) | trading |
| ``heartbeat`` | every ``heartbeat_seconds`` | trading (a beat proves the loop is not stuck) |
| ``stale_watch`` | every bar period (live) | trading |
| ``daily_report`` | live: every 10 min 13:00-21:59, runs once ``report_delay_minutes`` after the session's close; replay: at each replayed day's end | trading (queues the report for the mail worker's thread) |
| ``retrain`` | ``retrain_cron``: ``python -m bot train`` in a child process, then the model is reloaded on the trading thread | report |
| ``kill_watch`` | every ``kill_poll_seconds`` (own read-only journal connection) | watch |

Every job coalesces (a backlog runs once), never overlaps itself (``max_instances=1``), has a
misfire grace, and is wrapped so a failure is logged and retried at its next run without taking
the daemon down. The trading executor has one thread and its jobs hold the loop's lock: they never
overlap each other, the engine and its journal connection are used by one thread at a time, and
shutdown knows when the current step is over. Reports and alerts run on their own thread (and
journal connection) so a slow mail server never delays a trade.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.calendar.timeframes import NEW_YORK, Timeframe
from bot.config import Config
from bot.daemon.assemble import Parts
from bot.daemon.bars import period_seconds
from bot.errors import JournalError
from bot.journal.store import Journal
from risk.killswitch import KillSwitch

log = structlog.get_logger(__name__)

REPORT_KEY = "daily_report"  # control row: the last New York date whose report was made


def guarded(
    name: str,
    job: Callable[[], Any],
    on_fatal: Callable[[JournalError], None] | None = None,
) -> Callable[[], None]:
    """A job that logs its failure (with the traceback in the JSON log) instead of raising. A
    journal that refuses writes for good (full disk, read-only, damaged) goes to ``on_fatal``
    with one log line: nothing can be recorded, so nothing may be traded."""

    def run() -> None:
        try:
            job()
        except JournalError as exc:
            if exc.passing or on_fatal is None:
                log.error("job_failed", job=name, error=str(exc))  # no traceback: the message says it all
            else:
                log.error("journal_unusable", job=name, error=str(exc))
                on_fatal(exc)
        except Exception as exc:  # noqa: BLE001 - one job's failure must not take the daemon down
            log.error("job_failed", job=name, error=f"{type(exc).__name__}: {exc}", exc_info=True)

    run.__name__ = name
    return run


def bar_trigger(timeframe: Timeframe, delay_seconds: float) -> CronTrigger:
    """Each bar close plus the publishing delay, weekdays, New York time: minutes */M for
    intraday bars; for daily bars 13:00 and 16:00 (early and regular closes) and an hour after
    each, in case the day's bar is published late (the job asks the calendar whether a bar is
    due, and a bar already seen is not seen twice)."""
    extra_minutes, second = divmod(int(delay_seconds), 60)
    if timeframe.is_daily:
        return CronTrigger(
            day_of_week="mon-fri",
            hour="13,14,16,17",
            minute=min(extra_minutes, 59),
            second=second,
            timezone=NEW_YORK,
        )
    step = timeframe.minutes
    minute = f"{extra_minutes % step}-59/{step}" if step < 60 else str(extra_minutes % 60)
    return CronTrigger(day_of_week="mon-fri", minute=minute, second=second, timezone=NEW_YORK)


class DaemonSchedule:
    def __init__(
        self,
        config: Config,
        parts: Parts,
        journal_path: Path,
        *,
        report: Callable[[date], None],
        on_replay_end: Callable[[], None],
        config_path: str | None = None,
        on_fatal: Callable[[JournalError], None] | None = None,
    ) -> None:
        self.config = config
        self.config_path = config_path
        self.parts = parts
        self.journal_path = journal_path
        self.report = report
        self.on_replay_end = on_replay_end
        self.on_fatal = on_fatal
        d = config.daemon
        self.scheduler = BackgroundScheduler(
            timezone=NEW_YORK,
            executors={
                "default": ThreadPoolExecutor(1),
                "news": ThreadPoolExecutor(1),
                "watch": ThreadPoolExecutor(1),
                "report": ThreadPoolExecutor(1),
            },
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": int(d.misfire_grace_seconds),
            },
        )
        self._readers = threading.local()
        self._last_state: tuple | None = None
        self._replay_done = False

    # ---- building --------------------------------------------------------------------------

    def start(self) -> None:
        d, parts, add = self.config.daemon, self.parts, self._add
        now = datetime.now(UTC)
        if parts.replay is not None:
            add("bars", self._replay_bars, IntervalTrigger(seconds=parts.replay.tick_seconds), now)
        else:
            add("bars", self._live_bars, bar_trigger(parts.timeframe, d.bar_delay_seconds), now)
            add(
                "stale_watch",
                self._stale_watch,
                IntervalTrigger(seconds=max(period_seconds(parts.timeframe), 30)),
            )
            # on the trading thread: it reads the broker's calendar through the trading client
            # (cached, cheap); the report itself is made on the mail worker's thread
            add(
                "daily_report",
                self._report_if_due,
                CronTrigger(hour="13-21", minute="*/10", timezone=NEW_YORK),
            )
        if parts.news is not None:
            add("news", self._poll_news, IntervalTrigger(seconds=d.news_poll_seconds), now, executor="news")
        if parts.mode == "paper":
            add("reconcile", parts.loop.venue.reconcile, IntervalTrigger(seconds=d.reconcile_seconds), now)
        add("heartbeat", parts.loop.heartbeat, IntervalTrigger(seconds=d.heartbeat_seconds), now)
        add(
            "kill_watch",
            self._kill_watch,
            IntervalTrigger(seconds=d.kill_poll_seconds),
            now,
            executor="watch",
        )
        if d.retrain_cron:
            add(
                "retrain",
                self._retrain,
                CronTrigger.from_crontab(d.retrain_cron, timezone=NEW_YORK),
                executor="report",
            )
        self.scheduler.start()

    def _add(
        self,
        name: str,
        job: Callable[[], Any],
        trigger: Any,
        first: datetime | None = None,
        *,
        executor: str = "default",
    ) -> None:
        if executor == "default":
            job = self._exclusive(job)
        self.scheduler.add_job(
            guarded(name, job, self.on_fatal),
            trigger,
            id=name,
            name=name,
            executor=executor,
            **({"next_run_time": first} if first else {}),
        )

    def _exclusive(self, job: Callable[[], Any]) -> Callable[[], Any]:
        """Trading jobs hold the loop's lock: shutdown takes it to know the current step is over."""

        def run() -> Any:
            with self.parts.loop.lock:
                return job()

        return run

    def stop(self, timeout: float) -> bool:
        """No new jobs; wait up to ``timeout`` s for the current trading step. False if it is stuck.
        Report, news and watch threads are not waited for (best effort; the caller exits)."""
        self.scheduler.shutdown(wait=False)
        return self.parts.loop.lock.acquire(timeout=timeout)

    # ---- jobs ------------------------------------------------------------------------------

    def _replay_bars(self) -> None:
        replay = self.parts.replay
        if self._replay_done:
            return
        self.parts.loop.on_steps(replay.due())
        if replay.finished:
            self._replay_done = True
            self.parts.loop.journal.flush()
            if self.parts.loop.last_decision is not None:
                self.report(self.parts.loop.last_decision.astimezone(NEW_YORK).date())
            self.on_replay_end()

    def _live_bars(self) -> None:
        parts = self.parts
        now = datetime.now(UTC)
        grace = timedelta(seconds=period_seconds(parts.timeframe) + self.config.daemon.bar_delay_seconds + 60)
        if parts.timeframe.is_daily:
            grace = timedelta(hours=8)  # the day's bar may publish a while after the close
        if not self.config.data.extended_hours and not parts.sessions.in_session(now, grace=grace):
            return
        parts.loop.on_steps(parts.live.poll(now))

    def _stale_watch(self) -> None:
        now = datetime.now(UTC)
        self.parts.loop.check_stale(now, self.parts.sessions.in_session(now), self.config.risk.max_stale_bars)

    def _poll_news(self) -> None:
        new = self.parts.news.fetch()
        if self.parts.book is not None and new:
            self.parts.book.add(new)

    def _report_if_due(self, now: datetime | None = None) -> None:
        """Once per trading day, ``report_delay_minutes`` after the session's close."""
        now = now or datetime.now(UTC)
        session = self.parts.sessions.today(now)
        if session is None or now < session[1] + timedelta(minutes=self.config.daemon.report_delay_minutes):
            return
        day = now.astimezone(NEW_YORK).date()
        journal = self._reader()
        done = journal.control(REPORT_KEY)
        if done is not None and done.value >= day.isoformat():
            return
        self.report(day)

    def _kill_watch(self) -> None:
        """Notice a kill (or resume) made by another process; the trading thread reacts."""
        state = KillSwitch(self._reader()).state()
        key = (state.halted, state.at)
        if key == self._last_state:
            return
        first = self._last_state is None
        self._last_state = key
        if state.halted or not first:
            if state.halted:
                log.warning("kill_switch_seen", by=state.by, reason=state.reason)
            self.scheduler.add_job(
                guarded("notice_halt", self._exclusive(self.parts.loop.notice_halt), self.on_fatal),
                id="notice_halt",
                replace_existing=True,
            )

    def _retrain(self) -> None:
        """Train in a child process (TensorFlow stays out of the daemon); the gate decides whether
        the new model becomes active, and the trading thread then reloads the registry's choice."""
        import subprocess
        import sys

        cmd = [sys.executable, "-m", "bot", "train", "--source", self.config.data.source]
        if self.config_path:
            cmd += ["--config", self.config_path]
        log.info("retrain_started", command=" ".join(cmd))
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=6 * 3600)
        log.info("retrain_finished", exit_code=done.returncode, output=done.stdout[-500:])
        if done.returncode == 0 and self.parts.slot is not None:  # the gate decided: use its choice now
            self.scheduler.add_job(
                guarded("reload_model", self._exclusive(self.reload_model), self.on_fatal),
                id="reload_model",
                replace_existing=True,
            )

    def reload_model(self) -> None:
        self.parts.slot.reload(self.parts.loop.engine)

    def _reader(self) -> Journal:
        """The watch and report threads each read through their own connection (WAL: never blocked)."""
        journal = getattr(self._readers, "journal", None)
        if journal is None:
            journal = self._readers.journal = Journal(self.journal_path, readonly=True)
        return journal
