"""The daily report by email against a real SMTP server (aiosmtpd on 127.0.0.1): the message's
parts, the figures it states, retries of temporary failures, and failures that must not be retried."""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import date
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from matplotlib import image as mpimg
from reportkit import RUN
from structlog.testing import capture_logs

from bot.config import Config, EmailConfig, ReportConfig, Secrets
from bot.journal.store import Journal
from bot.report.daily_job import make_daily_report
from bot.report.mail import send_alert

from fakes.smtp_server import free_port

PASSWORD = "Zq9-distinctive-smtp-pw-41"  # must never show up in a file, a log line or an error
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DAY = date(2024, 11, 29)
NOV29 = ("2024-11-29T05:00:00+00:00", "2024-11-30T05:00:00+00:00")  # New York midnights (EST)


def config_for(tmp_path: Path, **email) -> Config:
    settings = {
        "smtp_host": "127.0.0.1",
        "security": "none",
        "sender": "bot@example.test",
        "recipients": ("owner@example.test", "second@example.test"),
        "timeout_seconds": 5.0,
        "max_attempts": 3,
        "retry_seconds": 5.0,
        **email,
    }
    return Config(email=EmailConfig(**settings), report=ReportConfig(dir=str(tmp_path / "reports")))


class Sleeps(list):
    """An injected ``sleep`` that records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def text_figures(text: str) -> dict[str, str]:
    """'Label:   value' lines of the plain-text part (as received: CRLF line ends)."""
    text = text.replace("\r\n", "\n")
    return {m[1]: m[2] for m in re.finditer(r"^([A-Z][a-zA-Z ]+):\s+(\S.*)$", text, re.MULTILINE)}


def dollars(value: str) -> float:
    return float(value.replace("$", "").replace(",", ""))


def check_parts(message: EmailMessage) -> str:
    """The structure the issue asks for; returns the plain text."""
    assert message.get_content_type() == "multipart/mixed"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    cids = re.findall(r'src="cid:([^"]+)"', html.get_content())
    assert len(cids) == 1
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    inline = [p for p in images if p["Content-ID"] == f"<{cids[0]}>"]
    attached = [p for p in images if p.get_content_disposition() == "attachment"]
    assert len(inline) == 1 and inline[0].get_content_disposition() == "inline" and len(attached) == 1
    for part in (inline[0], attached[0]):
        png = part.get_content()
        assert png[:8] == PNG_SIGNATURE
        pixels = mpimg.imread(io.BytesIO(png), format="png")
        assert pixels.shape[0] > 500 and pixels.shape[1] > 500
    assert attached[0].get_filename() == f"daily-{DAY.isoformat()}.png"
    (trades,) = [p for p in message.walk() if p.get_content_type() == "text/csv"]
    assert trades.get_content_disposition() == "attachment"
    assert trades.get_filename() == f"trades-{DAY.isoformat()}.csv"
    assert trades.get_content().startswith("ts_utc,time_new_york,symbol,side,qty,price,commission,realized")
    return text.get_content()


def test_report_is_received_with_login_and_states_the_journal_figures(tmp_path, smtp, journal_file) -> None:
    server = smtp(users={"bot": PASSWORD})
    config = config_for(tmp_path, smtp_port=server.port, username="bot")
    outcome = make_daily_report(
        config, journal_file, DAY, send=True, secrets=Secrets(smtp_password=PASSWORD), sleep=Sleeps()
    )
    assert outcome.status == "sent" and outcome.delivery.attempts == 1, outcome.message
    assert "sent to owner@example.test, second@example.test" in outcome.message
    [received] = server.messages
    assert received.login == "bot" and received.mail_from == "bot@example.test"
    assert received.rcpt_tos == ("owner@example.test", "second@example.test")
    assert PASSWORD.encode() not in received.data
    message = received.message
    assert message["Subject"] == (
        "Trading bot daily report 2024-11-29: PnL "
        f"{'+' if outcome.figures.pnl >= 0 else '-'}${abs(outcome.figures.pnl):,.2f} "
        f"({outcome.figures.return_pct:+.2f}%) [SYNTHETIC]"
    )
    figures = text_figures(check_parts(message))

    lo, hi = NOV29
    with Journal(journal_file, readonly=True) as j:
        end, exposure = j.query(
            "SELECT equity, positions_value/equity FROM equity WHERE run_id=? AND ts>=?"
            " AND ts<? ORDER BY ts DESC LIMIT 1",
            (RUN, lo, hi),
        )[0]
        prev = j.query(
            "SELECT equity FROM equity WHERE run_id=? AND ts<? ORDER BY ts DESC LIMIT 1", (RUN, lo)
        )[0][0]
        fees, trades = j.query(
            "SELECT SUM(commission), COUNT(*) FROM fills WHERE run_id=? AND ts>=? AND ts<?", (RUN, lo, hi)
        )[0]
        halts = j.query(
            "SELECT COUNT(*) FROM decisions WHERE run_id=? AND verdict='halt' AND ts>=? AND ts<?",
            (RUN, lo, hi),
        )[0][0]
    assert dollars(figures["PnL"]) == round(end - prev, 2)
    assert figures["Return"] == f"{100 * (end - prev) / prev:+.2f}%"
    assert dollars(figures["Fees"]) == round(fees, 2)
    assert figures["Exposure"] == f"{100 * exposure:.2f}%"
    assert figures["Win rate"] == "50.00% (1 of 2 closing trades)"
    assert figures["Halts"] == f"{halts} today; trading HALTED now"
    assert figures["Trades"] == str(trades)
    assert figures["Equity"].startswith(f"${end:,.2f} (previous close ${prev:,.2f}")
    html = message.get_body(("html",)).get_content()
    for value in (figures["PnL"], figures["Return"], figures["Fees"], figures["Exposure"]):
        assert value in html


def test_without_send_the_files_are_written_and_hold_no_secret(
    tmp_path, journal_file, restore_logging
) -> None:
    from bot.logging import configure_logging

    # no redaction configured: if the password reached a log line, the file would show it
    configure_logging(tmp_path / "logs", secrets=[], console=False)
    config = config_for(tmp_path, smtp_port=free_port(), username="bot", max_attempts=1)
    written = make_daily_report(
        config, journal_file, DAY, send=False, secrets=Secrets(smtp_password=PASSWORD)
    )
    failed = make_daily_report(config, journal_file, DAY, send=True, secrets=Secrets(smtp_password=PASSWORD))
    assert written.status == "written" and failed.status == "failed"
    eml = tmp_path / "reports" / "daily-2024-11-29.eml"
    assert written.delivery.eml_path == eml and (tmp_path / "reports" / "daily-2024-11-29.png").is_file()
    check_parts(BytesParser(policy=policy.default).parsebytes(eml.read_bytes()))
    log_text = (tmp_path / "logs" / "bot.jsonl").read_text()
    assert "report_written" in log_text and "report_send_failed" in log_text
    for text in (eml.read_text(), log_text, written.message, failed.message, repr(failed)):
        assert PASSWORD not in text


def test_unreachable_server_is_retried_with_doubling_waits_and_the_report_kept(
    tmp_path, journal_file
) -> None:
    port = free_port()  # nobody listens: connection refused
    sleeps = Sleeps()
    with capture_logs() as logs:
        outcome = make_daily_report(
            config_for(tmp_path, smtp_port=port),
            journal_file,
            DAY,
            send=True,
            secrets=Secrets(),
            sleep=sleeps,
        )
    assert outcome.status == "failed" and not outcome.ok
    assert outcome.delivery.attempts == 3 and sleeps == [5.0, 10.0] and outcome.delivery.waits == (5.0, 10.0)
    assert f"127.0.0.1:{port}" in outcome.message and "Connection" in outcome.message
    assert (
        "kept in" in outcome.message
        and outcome.delivery.eml_path.is_file()
        and outcome.delivery.png_path.is_file()
    )
    attempts = [e for e in logs if e["event"] == "smtp_attempt_failed"]
    assert [e["attempt"] for e in attempts] == [1, 2, 3] and attempts[-1]["retry_in_seconds"] is None
    assert any(e["event"] == "report_send_failed" and e["log_level"] == "error" for e in logs)


def test_a_temporary_reply_is_retried_then_sent(tmp_path, smtp, journal_file) -> None:
    server = smtp(temporary_failures=1)  # the first DATA gets 451
    sleeps = Sleeps()
    outcome = make_daily_report(
        config_for(tmp_path, smtp_port=server.port),
        journal_file,
        DAY,
        send=True,
        secrets=Secrets(),
        sleep=sleeps,
    )
    assert outcome.status == "sent" and outcome.delivery.attempts == 2 and sleeps == [5.0]
    assert len(server.messages) == 1 and "(2 attempts)" in outcome.message


def test_wrong_credentials_are_not_retried(tmp_path, smtp, journal_file) -> None:
    server = smtp(users={"bot": "the-right-one"})
    sleeps = Sleeps()
    outcome = make_daily_report(
        config_for(tmp_path, smtp_port=server.port, username="bot"),
        journal_file,
        DAY,
        send=True,
        secrets=Secrets(smtp_password=PASSWORD),
        sleep=sleeps,
    )
    assert outcome.status == "failed" and outcome.delivery.attempts == 1 and sleeps == []
    # smtplib tries each mechanism the server offers (PLAIN, LOGIN) once, in one connection
    assert 1 <= server.failed_logins <= 2 and server.messages == []
    assert "email.username / SMTP_PASSWORD" in outcome.message and "535" in outcome.message
    assert outcome.delivery.eml_path.is_file() and PASSWORD not in outcome.message


@pytest.mark.parametrize(
    ("settings", "secrets", "key"),
    [
        ({"recipients": ()}, Secrets(), "email.recipients: no recipients configured"),
        ({"sender": ""}, Secrets(), "email.sender"),
        ({"recipients": ("not-an-address",)}, Secrets(), "email.recipients: not email addresses"),
        (
            {"username": "bot"},
            Secrets(),
            "email.username is set ('bot') but SMTP_PASSWORD is not in the environment",
        ),
    ],
)
def test_missing_settings_name_the_key_and_touch_no_server(
    tmp_path, journal_file, settings, secrets, key
) -> None:
    sleeps = Sleeps()
    outcome = make_daily_report(
        config_for(tmp_path, smtp_port=free_port(), **settings),
        journal_file,
        DAY,
        send=True,
        secrets=secrets,
        sleep=sleeps,
    )
    assert outcome.status == "failed" and outcome.delivery.attempts == 0 and sleeps == []
    assert key in outcome.message and outcome.delivery.eml_path.is_file()


def test_every_recipient_refused_is_not_retried(tmp_path, smtp, journal_file) -> None:
    server = smtp(refuse_recipients=True)
    sleeps = Sleeps()
    outcome = make_daily_report(
        config_for(tmp_path, smtp_port=server.port),
        journal_file,
        DAY,
        send=True,
        secrets=Secrets(),
        sleep=sleeps,
    )
    assert outcome.status == "failed" and outcome.delivery.attempts == 1 and sleeps == []
    assert "email.recipients" in outcome.message and "550" in outcome.message


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_with_a_trusted_certificate(
    tmp_path, smtp, journal_file, server_tls, certificate, monkeypatch, security
) -> None:
    monkeypatch.setenv(
        "SSL_CERT_FILE", str(certificate[0])
    )  # how a private CA is trusted, in tests as in life
    tls = {"starttls": server_tls} if security == "starttls" else {"implicit_tls": server_tls}
    server = smtp(users={"bot": PASSWORD}, **tls)
    config = config_for(tmp_path, smtp_port=server.port, security=security, username="bot")
    outcome = make_daily_report(
        config, journal_file, DAY, send=True, secrets=Secrets(smtp_password=PASSWORD), sleep=Sleeps()
    )
    assert outcome.status == "sent", outcome.message
    assert server.messages[0].login == "bot"
    check_parts(server.messages[0].message)


def test_an_untrusted_certificate_fails_once_and_names_the_setting(
    tmp_path, smtp, journal_file, server_tls, monkeypatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    server = smtp(starttls=server_tls)
    sleeps = Sleeps()
    outcome = make_daily_report(
        config_for(tmp_path, smtp_port=server.port, security="starttls"),
        journal_file,
        DAY,
        send=True,
        secrets=Secrets(),
        sleep=sleeps,
    )
    assert outcome.status == "failed" and outcome.delivery.attempts == 1 and sleeps == []
    assert "email.security" in outcome.message and "CERTIFICATE_VERIFY_FAILED" in outcome.message


def test_alerts(tmp_path, smtp) -> None:
    server = smtp()
    config = config_for(tmp_path, smtp_port=server.port)
    assert send_alert(config, Secrets(), "Trading bot HALTED", "daily loss limit tripped at 14:05") is True
    message = server.messages[0].message
    assert message.get_content_type() == "text/plain" and "daily loss limit" in message.get_content()
    assert message["Subject"] == "Trading bot HALTED"

    with capture_logs() as logs:
        assert send_alert(dataclasses.replace(config, email=EmailConfig()), None, "x", "y") is False
    assert logs[0]["event"] == "alert_mail_not_configured"

    sleeps = Sleeps()
    unreachable = dataclasses.replace(config.email, smtp_port=free_port())
    with capture_logs() as logs:
        assert send_alert(unreachable, Secrets(), "x", "y", sleep=sleeps) is False
    assert len(sleeps) == 1 and sleeps[0] <= 2.0  # two quick attempts: an alert must not hold anything up
    assert logs[-1]["event"] == "alert_mail_failed"
