"""The daemon's parts in-process: pacing, the bars window, sessions (holiday, half day, DST),
bar-close triggers, the lock, the report worker, halts and broker-failure trips."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.calendar.timeframes import NEW_YORK, parse_timeframe
from bot.config import Secrets, load_config
from bot.daemon.assemble import assemble
from bot.daemon.bars import BarWindow, ReplayBars
from bot.daemon.lock import DaemonLock
from bot.daemon.reports import ReportWorker
from bot.daemon.schedule import bar_trigger
from bot.daemon.sessions import broker_sessions, exchange_sessions
from bot.errors import AlreadyRunning
from bot.journal.store import Journal
from risk.killswitch import KillSwitch

from daemonkit import KEY, SECRET
from fakes.alpaca_trading import TradingFakeServer, alpaca_broker
from testkit import write_config

MINUTE = parse_timeframe("1Min")


def minute_steps(n: int, start: str = "2024-03-08 14:30") -> list:
    t0 = datetime.fromisoformat(start).replace(tzinfo=UTC)
    return [
        (t0 + timedelta(minutes=k), {"AAA": (10.0 + k, 10.5 + k, 9.5 + k, 10.2 + k, 100.0)}) for k in range(n)
    ]


def test_replay_hands_out_steps_at_the_pace_and_resumes_after_the_recorded_ones():
    now = [0.0]
    replay = ReplayBars(minute_steps(10), MINUTE, speed=60, clock=lambda: now[0])  # one step per second
    assert [s[0].minute for s in replay.due()] == [30]  # the first step at once
    now[0] = 0.5
    assert replay.due() == []
    now[0] = 3.0
    assert [s[0].minute for s in replay.due()] == [31, 32, 33]
    now[0] = 100.0
    assert len(replay.due()) == 6 and replay.finished

    resumed = ReplayBars(minute_steps(10), MINUTE, speed=60, clock=lambda: now[0])
    decided_until = datetime(2024, 3, 8, 14, 34, tzinfo=UTC)  # the close of the 14:33 bar
    assert len(resumed.skip_through(decided_until)) == 4
    assert [s[0].minute for s in resumed.due()] == [34]  # paced from the first step not yet decided


def test_replay_catches_up_in_bounded_batches():
    now = [0.0]
    replay = ReplayBars(minute_steps(1200), MINUTE, speed=1e9, clock=lambda: now[0])
    replay.due()
    now[0] = 1.0
    assert len(replay.due()) == ReplayBars.MAX_BATCH


def test_the_window_keeps_the_last_bars_and_shows_a_symbol_that_stopped():
    window = BarWindow(["AAA", "BBB"], keep=3)
    for k, (start, bars) in enumerate(minute_steps(5)):
        window.add(start, {**bars, **({"BBB": (1, 1, 1, 1, 1.0)} if k < 2 else {})})
    view = window.view()
    assert view.count("AAA") == 3 and view.closes("AAA").tolist() == [12.2, 13.2, 14.2]
    assert view.bars_behind("AAA") == 0 and view.bars_behind("BBB") == 3
    window.add(minute_steps(1)[0][0], {"AAA": (1, 1, 1, 1, 1.0)})  # an old bar is ignored
    assert window.last_close("AAA") == 14.2


def test_exchange_sessions_know_holidays_half_days_and_daylight_saving():
    sessions = exchange_sessions()
    assert sessions.session(date(2024, 12, 25)) is None  # Christmas
    assert sessions.session(date(2024, 3, 9)) is None  # a Saturday
    open_, close = sessions.session(date(2024, 11, 29))  # the day after Thanksgiving closes at 13:00
    assert close.astimezone(NEW_YORK).hour == 13 and close == datetime(2024, 11, 29, 18, 0, tzinfo=UTC)
    assert sessions.session(date(2024, 3, 8))[0] == datetime(2024, 3, 8, 14, 30, tzinfo=UTC)  # EST
    assert sessions.session(date(2024, 3, 11))[0] == datetime(2024, 3, 11, 13, 30, tzinfo=UTC)  # EDT
    assert sessions.in_session(datetime(2024, 11, 29, 17, 59, tzinfo=UTC))
    assert not sessions.in_session(datetime(2024, 11, 29, 18, 30, tzinfo=UTC))
    assert sessions.in_session(datetime(2024, 11, 29, 18, 30, tzinfo=UTC), grace=timedelta(hours=1))


def test_broker_sessions_come_from_the_alpaca_calendar():
    server = TradingFakeServer(key_id=KEY, secret_key=SECRET).start()
    try:
        sessions = broker_sessions(alpaca_broker(server))
        assert sessions.session(date(2024, 7, 6)) is None  # a Saturday
        open_, close = sessions.session(date(2024, 7, 8))
        assert (open_, close) == (
            datetime(2024, 7, 8, 13, 30, tzinfo=UTC),
            datetime(2024, 7, 8, 20, 0, tzinfo=UTC),
        )
        calls = len(server.requests)
        sessions.session(date(2024, 7, 9))  # cached: no second request
        assert len(server.requests) == calls
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("timeframe", "after", "expected"),
    [
        ("5Min", "2024-03-08 09:31", ["09:35:05", "09:40:05", "09:45:05"]),
        ("1Hour", "2024-03-08 09:31", ["10:00:05", "11:00:05", "12:00:05"]),
        ("1Day", "2024-03-08 15:00", ["16:00:05", "17:00:05", "13:00:05"]),  # then Monday, after the weekend
    ],
)
def test_bar_jobs_fire_after_each_bar_close_in_new_york_time(timeframe, after, expected):
    trigger = bar_trigger(parse_timeframe(timeframe), 5)
    now = datetime.fromisoformat(after).replace(tzinfo=NEW_YORK)
    fired, previous = [], None
    for _ in expected:
        previous = trigger.get_next_fire_time(previous, now)
        fired.append(previous)
        now = previous
    assert [f"{f:%H:%M:%S}" for f in fired] == expected
    if timeframe == "1Day":  # across the weekend and the switch to daylight saving time
        assert fired[-1].date() == date(2024, 3, 11) and fired[-1].utcoffset() == timedelta(hours=-4)


def test_a_second_daemon_is_refused_by_the_lock(tmp_path: Path):
    first, second = DaemonLock(tmp_path / "j.sqlite"), DaemonLock(tmp_path / "j.sqlite")
    first.acquire()
    with pytest.raises(AlreadyRunning, match=r"pid \d+"):
        second.acquire()
    first.release()
    second.acquire()  # free again
    second.release()


def test_report_worker_skips_days_behind_a_newer_one_and_never_raises():
    made, gate = [], threading.Event()

    def make(day: date) -> None:
        gate.wait(5)
        if day == date(2024, 1, 3):
            raise RuntimeError("mail server on fire")
        made.append(day)

    worker = ReportWorker(make, lambda subject, text: made.append(subject))
    worker.report(date(2024, 1, 2))  # starts at once and waits on the gate
    time.sleep(0.1)
    for day in (date(2024, 1, 3), date(2024, 1, 4), date(2024, 1, 5)):
        worker.report(day)
    worker.alert("halted", "text")
    gate.set()
    assert worker.drain(5)
    assert made == [date(2024, 1, 2), date(2024, 1, 5), "halted"]


def sample_parts(tmp_path: Path, extra: str = ""):
    config = load_config(
        write_config(
            tmp_path,
            f"""
[data]
timeframe = "1Day"
start = "2023-01-03"
end = "2023-03-31"
[strategy]
name = "buy_and_hold"
{extra}
""",
        )
    )
    journal = Journal(tmp_path / "dry.sqlite")
    alerts: list[str] = []
    parts = assemble(
        config,
        journal,
        dry_run=True,
        replay_source="sample",
        speed=1e9,
        new_run=False,
        secrets=Secrets(),
        alert=lambda subject, text: alerts.append(subject),
    )
    return parts, journal, alerts


def test_a_noticed_kill_flattens_the_simulated_account_unless_it_keeps_positions(tmp_path: Path):
    parts, journal, _ = sample_parts(tmp_path)
    loop, broker = parts.loop, parts.loop.venue.broker
    loop.on_steps(parts.replay.due())  # step 1: buy and hold decides
    loop.on_steps([parts.replay._steps[1]])  # step 2: the buys fill at its open
    assert broker.positions()
    KillSwitch(journal).halt("test", "enough", keep_positions=True)
    loop.notice_halt()
    assert broker.positions() and broker.open_orders() == []
    KillSwitch(journal).halt("test", "now flatten")
    loop.notice_halt()
    loop.notice_halt()  # once per halt: a second notice sends nothing more
    closes = broker.open_orders()
    assert {o.symbol for o in closes} == set(broker.positions()) and all(
        o.request.side == "sell" for o in closes
    )
    orders_before = len(broker.orders)
    loop.on_steps([parts.replay._steps[2]])  # the closes fill; a halted loop decides nothing
    assert broker.positions() == {} and len(broker.orders) == orders_before
    journaled = journal.query(
        "SELECT COUNT(*) FROM orders WHERE client_order_id LIKE 'close-%' AND status = 'filled'"
    )
    assert journaled[0][0] == len(closes)


def test_a_resumed_run_keeps_its_account_and_keeps_counting_its_limits(tmp_path: Path):
    from risk.order_rate import OrderRate

    parts, journal, _ = sample_parts(tmp_path, "[risk]\nmax_orders_per_day = 50")
    for step in parts.replay._steps[:3]:
        parts.loop.on_steps([step])
    equity_before = parts.loop.venue.broker.account().equity
    journal.close()  # the process dies (everything it journaled stays)

    again, journal, _ = sample_parts(tmp_path, "[risk]\nmax_orders_per_day = 50")
    assert again.resumed and again.run_id == parts.run_id
    assert again.loop.venue.broker.account().equity == pytest.approx(equity_before)
    last_decision = datetime.fromisoformat(journal.query("SELECT MAX(ts) FROM decisions")[0][0])
    sent = journal.query(
        "SELECT COUNT(*) FROM decisions WHERE client_order_id IS NOT NULL AND ts = ?",
        (last_decision.isoformat(),),
    )[0][0]
    rate = next(rule for rule in again.loop.engine.gate.rules if isinstance(rule, OrderRate))
    assert sent > 0 and rate.counts(last_decision)[1] == sent
    assert again.loop.engine.equity.peak == pytest.approx(
        journal.query("SELECT MAX(equity) FROM equity")[0][0]
    )
    assert again.replay.remaining == len(again.replay._steps) - 3  # it goes on after the recorded steps


def test_a_rejected_model_trips_the_kill_switch_only_when_configured(tmp_path: Path):
    from bot.daemon.assemble import _model_gate_halt

    rejected = {"model_id": "m-1", "model_status": "rejected", "model_reason": "MSE not below zero's"}
    for flag, halts in (("false", False), ("true", True)):
        folder = tmp_path / flag
        folder.mkdir()
        parts, journal, alerts = sample_parts(folder, f"[daemon]\nhalt_on_model_rejected = {flag}")
        parts.slot.model = rejected
        config = load_config(folder / "config.toml")
        _model_gate_halt(config, parts, KillSwitch(journal), lambda subject, text: alerts.append(subject))
        state = KillSwitch(journal).state()
        assert state.halted is halts and bool(alerts) is halts
        if halts:
            assert "m-1 is rejected" in state.reason


def test_the_watchdog_flags_bars_that_stop_coming_during_the_session(tmp_path: Path):
    parts, _, _ = sample_parts(tmp_path)
    loop = parts.loop
    loop.on_steps(parts.replay.due())
    arrived = loop.last_bar_at
    day = timedelta(days=1)  # the replay's bars are daily: one period is a day
    loop.check_stale(arrived + 2 * day, in_session=True, stale_after_bars=3)
    assert not loop.stale
    loop.check_stale(arrived + 4 * day, in_session=False, stale_after_bars=3)
    assert not loop.stale  # outside the session no bar is expected
    loop.check_stale(arrived + 4 * day, in_session=True, stale_after_bars=3)
    assert loop.stale
    loop.on_steps([parts.replay._steps[1]])  # a bar again: fresh
    assert not loop.stale


def test_a_failing_job_is_logged_and_the_next_run_goes_on():
    from structlog.testing import capture_logs

    from bot.daemon.schedule import guarded

    calls = []

    def flaky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("feed exploded")

    job = guarded("news", flaky)
    with capture_logs() as logs:
        job()  # does not raise
        job()
    assert len(calls) == 2
    failed = [e for e in logs if e["event"] == "job_failed"]
    assert len(failed) == 1 and failed[0]["job"] == "news" and "feed exploded" in failed[0]["error"]


def test_the_live_daily_report_runs_once_after_each_sessions_close(tmp_path: Path):
    from bot.daemon.schedule import REPORT_KEY, DaemonSchedule

    parts, journal, _ = sample_parts(tmp_path)
    parts.sessions = exchange_sessions()
    asked: list[date] = []
    config = load_config(tmp_path / "config.toml")  # report_delay_minutes = 20
    schedule = DaemonSchedule(config, parts, journal.path, report=asked.append, on_replay_end=lambda: None)

    def at(local: str) -> datetime:
        return datetime.fromisoformat(local).replace(tzinfo=NEW_YORK).astimezone(UTC)

    schedule._report_if_due(at("2024-11-29 13:10"))  # half day: closed at 13:00, not yet 20 minutes
    schedule._report_if_due(at("2024-11-28 17:00"))  # Thanksgiving: no session, no report
    assert asked == []
    schedule._report_if_due(at("2024-11-29 13:25"))
    assert asked == [date(2024, 11, 29)]
    journal.set_control(REPORT_KEY, "2024-11-29", by="test")  # what the mail worker records when done
    schedule._report_if_due(at("2024-11-29 13:35"))
    assert asked == [date(2024, 11, 29)]
    schedule._report_if_due(at("2024-12-02 16:10"))  # a regular day: 16:00 + 20 minutes not reached
    schedule._report_if_due(at("2024-12-02 16:21"))
    assert asked == [date(2024, 11, 29), date(2024, 12, 2)]
