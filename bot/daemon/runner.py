"""The daemon's life: lock -> journal -> parts -> scheduler -> wait for a signal -> clean stop.

SIGTERM and SIGINT set a flag; the main thread then stops the scheduler, lets the current step
finish (at most ``daemon.shutdown_seconds``), flushes the journal, marks the run ``stopped`` and
its heartbeat stopped (so ``status`` says so at once), and releases the lock, well inside the 10
seconds a supervisor allows. Orders and fills are durable the moment they are journaled, so even a
``kill -9`` loses nothing a restart cannot rebuild: the restart resumes the run
(``bot.daemon.assemble``) and reconciles with the broker; ``status`` sees the pid gone.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from datetime import date
from typing import Any

import structlog

from bot.commands.common import journal_key, journal_path
from bot.config import Config, secrets_from_env
from bot.daemon.assemble import Parts, assemble
from bot.daemon.lock import DaemonLock
from bot.daemon.reports import ReportWorker
from bot.daemon.schedule import REPORT_KEY, DaemonSchedule
from bot.errors import JournalError
from bot.journal.heartbeat import mark_stopped
from bot.journal.store import Journal, open_journal

log = structlog.get_logger(__name__)


def run_daemon(
    config: Config,
    *,
    dry_run: bool,
    replay_source: str | None,
    speed: float,
    new_run: bool,
    config_path: str | None = None,
) -> int:
    path = journal_path(config, dry_run)
    lock = DaemonLock(path)
    lock.acquire()
    journal = open_journal(path, batch_size=config.journal.batch_size, key=journal_key(dry_run))
    secrets = secrets_from_env()
    stop = threading.Event()
    holder: dict[str, Any] = {}
    mail = ReportWorker(
        lambda day: _daily_report(config, path, holder["run_id"], day),
        lambda subject, text: _send_alert(config, secrets, subject, text),
    )

    def alert(subject: str, text: str) -> None:
        log.warning("alert", subject=subject)
        mail.alert(subject, text)

    try:
        parts = assemble(
            config,
            journal,
            dry_run=dry_run,
            replay_source=replay_source,
            speed=speed,
            new_run=new_run,
            secrets=secrets,
            alert=alert,
        )
        from bot.logging import bind_run

        bind_run(parts.mode, parts.run_id)  # a resumed run logs under its own id
        _announce(parts, path, speed)
        _advise_limits(config, parts)

        holder["run_id"] = parts.run_id

        def report(day: date) -> None:
            journal.flush()  # the report reads through its own connection: hand it every row
            mail.report(day)

        def fatal(error: JournalError) -> None:  # the journal refuses writes: stop, trade no more
            holder.setdefault("fatal", error)
            stop.set()

        schedule = DaemonSchedule(
            config,
            parts,
            path,
            report=report,
            on_replay_end=stop.set,
            config_path=config_path,
            on_fatal=fatal,
        )
        parts.loop.on_day_end = report
        _install_signals(stop)
        _quiet_apscheduler()
        schedule.start()
        if config.dashboard.enabled:  # its own thread; a failure to bind is a warning, not a stop
            from bot.dashboard.server import start_for_daemon

            start_for_daemon(config, config_path=config_path, dry_run=dry_run)
        log.info(
            "daemon_started", run_id=parts.run_id, mode=parts.mode, resumed=parts.resumed, pid=os.getpid()
        )
        while not stop.wait(0.2):
            pass
        finished = parts.replay is not None and parts.replay.finished
        code = _shutdown(config, schedule, parts, journal, finished, holder.get("fatal"))
        if finished and not mail.drain(60):  # a finished replay's last report is worth a short wait
            log.warning("reports_unfinished", note="the last daily report was still being made at exit")
        return code
    finally:
        lock.release()


def _stop_failed(parts: Parts, journal: Journal, fatal: JournalError, summary: dict[str, Any]) -> int:
    """After the journal refused a write: mark the run failed if it still takes that one write,
    say so in one line, exit 2. Every order sent before is in the journal (written before sending)."""
    # the rows still buffered are what the file refused: marking the run failed matters more
    dropped = journal.make_room_after_refusal()
    if dropped:
        log.warning("journal_rows_dropped", rows=dropped, reason="the journal refused them")
    try:
        journal.end_run(parts.run_id, "failed", summary)
        marked = "the run is marked failed"
    except JournalError:
        marked = "the run could not be marked failed (the journal still says running)"
    try:
        mark_stopped(journal)
    except JournalError:
        pass  # status still sees the process gone (its pid no longer exists)
    journal.close()
    if parts.news is not None:
        parts.news.journal.close()
    log.error("daemon_stopped", status="failed", reason=str(fatal), **summary)
    print(
        f"error: {fatal}\nstopped: the journal refused a write, so nothing more is traded; {marked}",
        file=sys.stderr,
    )
    return 2


def _quiet_apscheduler() -> None:
    """APScheduler logs every run at INFO (20 a second in a fast replay) and a WARNING for each
    tick skipped behind a long step (by design: jobs coalesce); our job wrapper logs what matters."""
    import logging

    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)


def _install_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: object) -> None:
        log.warning("signal_received", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _shutdown(
    config: Config,
    schedule: DaemonSchedule,
    parts: Parts,
    journal: Journal,
    finished: bool,
    fatal: JournalError | None = None,
) -> int:
    started = time.monotonic()
    parts.loop.stopping = True  # a replay batch in progress ends after its current step
    if not schedule.stop(config.daemon.shutdown_seconds):
        # the step is stuck in a broker call past every timeout: what matters is already durable
        log.error("shutdown_timeout", seconds=config.daemon.shutdown_seconds)
        print(
            f"stopped without waiting for the current step (>{config.daemon.shutdown_seconds:g} s); "
            "the journal holds every order",
            file=sys.stderr,
        )
        sys.stderr.flush()
        os._exit(1)
    _close_streams(parts)
    summary = {"steps": parts.loop.steps, "bars": parts.loop.bars}
    if fatal is not None:
        return _stop_failed(parts, journal, fatal, summary)
    status = "completed" if finished else "stopped"
    journal.flush()
    journal.end_run(parts.run_id, status, summary)
    mark_stopped(journal)  # status says stopped now, not "alive" until the beat goes stale
    journal.close()
    if parts.news is not None:
        parts.news.journal.close()
    seconds = time.monotonic() - started
    log.info("daemon_stopped", status=status, shutdown_seconds=round(seconds, 3), **summary)
    what = "replay finished" if finished else "stopped cleanly"
    print(
        f"{what}: run {parts.run_id}, {parts.loop.steps} steps, {parts.loop.bars} bars "
        f"(shutdown {seconds:.1f} s)"
    )
    return 0


def _close_streams(parts: Parts) -> None:
    """The websocket threads (``alpaca.stream_bars`` / ``trade_updates``): closed, not just
    abandoned to the exit; each stop is bounded (2 s) and a failure only logged."""
    for closer in parts.closers:
        try:
            closer.stop()
        except Exception as exc:  # noqa: BLE001 - a stream that will not close must not stop the shutdown
            log.warning("stream_close_failed", error=f"{type(exc).__name__}: {exc}")


def _announce(parts: Parts, path: object, speed: float) -> None:
    where = (
        f"replaying {parts.source.removeprefix('replay:')} at {speed:g}x"
        if parts.replay
        else "live Alpaca bars"
    )
    broker = "simulated broker" if parts.mode == "dry-run" else "Alpaca PAPER account"
    print(f"{parts.mode}: {', '.join(parts.symbols)} {parts.timeframe.name}, {where}, {broker}")
    print(f"journal {path}, run {parts.run_id}" + (" (resumed)" if parts.resumed else ""))
    if parts.replay is not None:
        for line in pace_lines(parts.timeframe.name, parts.replay.step_seconds, speed):
            print(line)
    if parts.model:
        print(
            f"model {parts.model['model_id']}: return head {parts.model['model_status']}, "
            f"risk head {parts.model.get('risk_model_status', 'rejected')}"
        )
    state = parts.loop.switch.state()
    if state.halted:
        print(
            f"*** TRADING HALTED *** since {state.at} by {state.by}: {state.reason}. The daemon runs but "
            "sends nothing until `python -m bot resume`."
        )
    sys.stdout.flush()


#: a paced replay slower than this per bar looks stuck: say so at start
SLOW_BAR_SECONDS = 10.0


def pace_lines(timeframe: str, step_seconds: float, speed: float) -> list[str]:
    """What a paced replay says at start: how long one bar takes, and a warning (with a faster
    speed and a smaller timeframe to try) when that is more than ``SLOW_BAR_SECONDS``."""
    lines = [f"pace: one {timeframe} bar every {step_seconds:.3g} s at {speed:g}x"]
    if step_seconds > SLOW_BAR_SECONDS:
        one_a_second = step_seconds * speed  # the timeframe's period in seconds
        lines.append(
            f"WARNING: one bar every {step_seconds:.0f} s looks stuck (nothing is printed meanwhile); "
            f"try --speed {one_a_second:g} (one bar a second) or --timeframe 1Min"
        )
    return lines


def _advise_limits(config: Config, parts: Parts) -> None:
    """Loss limits default to off (so a simulation is exactly the strategy's); a daemon trading
    live bars without any says so loudly, once, at start-up."""
    r = config.risk
    if parts.replay is None and not any(
        (r.daily_loss_pct, r.max_drawdown_pct, r.stop_loss_pct, r.stop_loss_atr)
    ):
        text = (
            "no loss limit is configured (risk.daily_loss_pct, risk.max_drawdown_pct, risk.stop_loss_pct, "
            "risk.stop_loss_atr are all off): set at least one before trading unattended"
        )
        print(f"WARNING: {text}")
        log.warning("no_loss_limit", note=text)


def _daily_report(config: Config, path: object, run_id: str, day: date) -> None:
    """The report thread: build and deliver; a failure is logged, never raised into trading."""
    try:
        from bot.report.daily_job import make_daily_report

        outcome = make_daily_report(config, path, day, run_id=run_id, send=bool(config.email.smtp_host))
        log.info("daily_report_done", day=day.isoformat(), outcome=str(outcome))
        journal = Journal(path)  # its own connection: the trading thread keeps its own
        try:
            journal.set_control(REPORT_KEY, day.isoformat(), by=f"pid {os.getpid()}")
        finally:
            journal.close()
    except Exception as exc:  # noqa: BLE001 - reports are best effort; trading goes on
        log.error(
            "daily_report_failed", day=day.isoformat(), error=f"{type(exc).__name__}: {exc}", exc_info=True
        )


def _send_alert(config: Config, secrets: object, subject: str, text: str) -> None:
    try:
        from bot.report.mail import send_alert

        send_alert(config, secrets, subject, text)
    except Exception as exc:  # noqa: BLE001
        log.error("alert_failed", subject=subject, error=f"{type(exc).__name__}: {exc}")
