"""The daemon's own daily report: a replay that finishes sends its last day's report to a local
SMTP server (aiosmtpd on 127.0.0.1), and the figures in the mail are the journal's."""

from __future__ import annotations

import re
from pathlib import Path

from daemonkit import KEY_ENV, query
from fakes.smtp_server import SmtpServer
from testkit import run_cli, write_config


def test_a_finished_replay_mails_its_last_days_report(tmp_path: Path):
    with SmtpServer(users={"bot": "s3cret-Pw-93"}) as smtp:
        config = write_config(
            tmp_path,
            f"""
[data]
timeframe = "1Day"
start = "2023-01-03"
end = "2023-02-28"
[strategy]
name = "sma_cross"
[strategy.sma_cross]
fast = 3
slow = 8
[email]
smtp_host = "127.0.0.1"
smtp_port = {smtp.port}
security = "none"
username = "bot"
sender = "bot@example.com"
recipients = ["owner@example.com"]
timeout_seconds = 5
""",
        )
        done = run_cli(
            "run",
            "--dry-run",
            "--config",
            str(config),
            "--source",
            "sample",
            "--speed",
            "1e9",
            env={**KEY_ENV, "SMTP_PASSWORD": "s3cret-Pw-93"},
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "replay finished" in done.stdout
        assert smtp.messages, "no report reached the SMTP server"
        received = smtp.messages[-1]
    message = received.message
    assert received.login == "bot" and received.rcpt_tos == ("owner@example.com",)
    assert "2023-02-28" in message["Subject"] and "SYNTHETIC" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "cid:" in html
    pngs = [p for p in message.iter_attachments() if p.get_content_type() == "image/png"]
    assert pngs and pngs[0].get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    # the day's PnL in the mail is the journal's: last equity of the day minus the previous close
    rows = query(tmp_path / "dry_run.sqlite", "SELECT ts, equity FROM equity ORDER BY ts")
    last, previous = rows[-1]["equity"], rows[-2]["equity"]
    shown = re.search(r"PnL\s*[:|]?\s*([+-])\$([\d,]+\.\d\d)", text)
    assert shown, text
    value = float(shown.group(2).replace(",", "")) * (1 if shown.group(1) == "+" else -1)
    assert abs(value - (last - previous)) < 0.01
    assert "s3cret-Pw-93" not in received.data.decode(errors="replace")
