"""``python -m bot report`` as a real subprocess: exit codes, its lines, and a simulation's journal
reported by email to a local SMTP server."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.journal.store import Journal

from fakes.smtp_server import free_port
from testkit import REPO, run_cli, write_config

PASSWORD = "Zq9-distinctive-smtp-pw-41"


def email_section(port: int, **extra: object) -> str:
    settings = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "security": "none",
        "sender": "bot@example.test",
        "recipients": ["owner@example.test"],
        "timeout_seconds": 5.0,
        **extra,
    }
    return "[email]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in settings.items()) + "\n"


def test_dates_without_a_report(tmp_path: Path, journal_file: Path) -> None:
    config = write_config(tmp_path)
    missing = run_cli("report", "--config", str(config), "--date", "2024-11-29")
    assert missing.returncode == 2 and "journal.sqlite: no journal there" in missing.stderr
    shutil.copy(journal_file, tmp_path / "dry_run.sqlite")
    bad = run_cli("report", "--config", str(config), "--dry-run", "--date", "2024-11-31")
    assert bad.returncode == 2 and "--date: expected a date YYYY-MM-DD, got '2024-11-31'" in bad.stderr
    holiday = run_cli("report", "--config", str(config), "--dry-run", "--date", "2024-12-25")
    assert holiday.returncode == 0, holiday.stderr
    assert holiday.stdout.strip() == "2024-12-25 is not a trading day (NYSE holiday): no report"
    empty = run_cli("report", "--config", str(config), "--dry-run", "--date", "2024-12-10")
    assert empty.returncode == 2 and "no equity rows on 2024-12-10 (New York)" in empty.stderr
    assert "Traceback" not in bad.stderr + holiday.stderr + empty.stderr


def test_half_day_report_is_written_and_no_tensorflow_is_imported(tmp_path: Path, journal_file: Path) -> None:
    config = write_config(tmp_path)
    shutil.copy(journal_file, tmp_path / "dry_run.sqlite")
    code = (
        "import sys; from bot.__main__ import main; "
        f"rc = main(['report', '--config', {str(config)!r}, '--dry-run', '--date', '2024-11-29']); "
        "print('tensorflow loaded:', 'tensorflow' in sys.modules); sys.exit(rc)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert (
        lines[0].startswith("Trading bot daily report 2024-11-29: PnL ")
        and "(run dry-1, 3 trades)" in lines[0]
    )
    assert lines[1] == (
        f"report written to {tmp_path / 'reports' / 'daily-2024-11-29.eml'} and "
        f"{tmp_path / 'reports' / 'daily-2024-11-29.png'}"
    )
    assert lines[2] == "tensorflow loaded: False"
    assert "early close at 13:00" in (tmp_path / "reports" / "daily-2024-11-29.eml").read_text()


def test_unreachable_server_exits_1_and_keeps_the_files(tmp_path: Path, journal_file: Path) -> None:
    config = write_config(
        tmp_path, email_section(free_port(), max_attempts=2, retry_seconds=0.0, username="bot")
    )
    shutil.copy(journal_file, tmp_path / "journal.sqlite")
    done = run_cli(
        "report", "--config", str(config), "--date", "2024-11-29", "--send", env={"SMTP_PASSWORD": PASSWORD}
    )
    assert done.returncode == 1
    assert re.search(
        r"error: report NOT sent after 2 attempts: 127\.0\.0\.1:\d+: ConnectionRefusedError", done.stderr
    )
    assert f"kept in {tmp_path / 'reports' / 'daily-2024-11-29.eml'}" in done.stderr
    log_text = (tmp_path / "logs" / "bot.jsonl").read_text()
    assert log_text.count('"smtp_attempt_failed"') == 2
    for text in (
        done.stdout,
        done.stderr,
        log_text,
        (tmp_path / "reports" / "daily-2024-11-29.eml").read_text(),
    ):
        assert PASSWORD not in text


def test_simulation_day_sent_to_smtp_matches_the_journal(tmp_path: Path, smtp) -> None:
    server = smtp(users={"bot": PASSWORD})
    config = write_config(tmp_path, email_section(server.port, username="bot"))
    sim = run_cli(
        "simulate",
        "--config",
        str(config),
        "--strategy",
        "sma_cross",
        "--start",
        "2024-09-01",
        "--end",
        "2024-12-31",
        "--news",
        "none",
    )
    assert sim.returncode == 0, sim.stderr
    with Journal(tmp_path / "journal.sqlite", readonly=True) as j:
        # daily decisions are journaled at 16:00 New York: the UTC date is the New York date
        day = j.query("SELECT substr(MAX(ts), 1, 10) FROM fills")[0][0]
        ny = ZoneInfo("America/New_York")
        lo, hi = (
            datetime.fromisoformat(f"{d}T00:00").replace(tzinfo=ny).astimezone(ZoneInfo("UTC")).isoformat()
            for d in (day, _next(day))
        )
        end = j.query(
            "SELECT equity FROM equity WHERE ts >= ? AND ts < ? ORDER BY ts DESC LIMIT 1", (lo, hi)
        )[0][0]
        prev = j.query("SELECT equity FROM equity WHERE ts < ? ORDER BY ts DESC LIMIT 1", (lo,))[0][0]
        fees, trades = j.query(
            "SELECT SUM(commission), COUNT(*) FROM fills WHERE ts >= ? AND ts < ?", (lo, hi)
        )[0]
    done = run_cli(
        "report", "--config", str(config), "--date", day, "--send", env={"SMTP_PASSWORD": PASSWORD}
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "report sent to owner@example.test"
    [received] = server.messages
    assert received.login == "bot"
    message = received.message
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    pnl = end - prev
    assert f"PnL:          {'-' if pnl < 0 else '+'}${abs(pnl):,.2f}\n" in text
    assert f"Return:       {100 * pnl / prev:+.2f}%\n" in text
    assert f"Fees:         ${fees:,.2f}\n" in text and f"Trades:       {trades}\n" in text
    assert "SYNTHETIC data" in text and message["Subject"].endswith("[SYNTHETIC]")
    assert PASSWORD.encode() not in received.data


def _next(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()
