"""The daily report as an email, and its delivery over SMTP (smtplib) with bounded retries.

``deliver`` never raises: a broken mail server must not take the daemon down, and a report that
could not be sent is written to disk (``daily-YYYY-MM-DD.eml`` and ``.png``) so nothing is lost.

What is retried (``email.max_attempts`` attempts, waits of ``email.retry_seconds`` doubling):
connection refused or reset, timeouts, dropped connections and 4xx replies. What is not (it
would fail again the same way): a refused login, every recipient refused, other 5xx replies, TLS
certificate or protocol problems, and missing settings. Those messages name the ``email.*`` key.

The SMTP password comes from ``Secrets`` (env SMTP_PASSWORD); it is handed to ``smtp.login`` and
nowhere else (not the message, not a log line, not an error text).
"""

from __future__ import annotations

import dataclasses
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import structlog

from bot.config import Config, EmailConfig, Secrets
from bot.report.daily_data import NEW_YORK, DailyFigures
from bot.report.daily_text import html_body, subject_of, text_body, trades_csv

log = structlog.get_logger(__name__)

DATE_HEADER = "X-Report-Date"  # the report's New York date: names the files written to disk
_MSGID_DOMAIN = "trading-bot.local"  # make_msgid's default asks DNS for our name: no network calls
# Headers fold at 200 characters rather than 78: the stdlib folds a Subject just over 78 right after
# the colon, which its own parser reads back with a leading blank (SMTP allows 998). Parts are still
# encoded under the default policy, so base64 lines stay at 76 characters as MIME wants.
_HEADER_POLICY = policy.default.clone(max_line_length=200)


@dataclass(frozen=True)
class DeliveryResult:
    """What became of one report: sent, or written to disk (and why)."""

    ok: bool  # sent, or written to disk because sending was not asked for / not configured
    sent: bool
    attempts: int
    recipients: tuple[str, ...]
    eml_path: Path | None
    png_path: Path | None
    error: str | None = None
    waits: tuple[float, ...] = ()

    def describe(self) -> str:
        """One line for people: where the report went."""
        if self.sent:
            tries = f" ({self.attempts} attempts)" if self.attempts > 1 else ""
            return f"report sent to {', '.join(self.recipients)}{tries}"
        if self.eml_path is None:
            return f"report NOT kept: {self.error}"
        files = f"{self.eml_path} and {self.png_path}"
        if self.error:
            tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
            return f"report NOT sent{tries}: {self.error}; kept in {files}"
        return f"report written to {files}"


class _Failure(Exception):
    """A failed send, its message fit for a person; ``temporary`` ones are retried."""

    def __init__(self, text: str, *, temporary: bool) -> None:
        super().__init__(text)
        self.temporary = temporary
        self.attempts = 0  # set when the retries give up
        self.waits: tuple[float, ...] = ()


# -- the message ----------------------------------------------------------------------------------


def build_message(figures: DailyFigures, png: bytes, email: EmailConfig) -> EmailMessage:
    """multipart/mixed: [alternative: text, related: (HTML, inline PNG)], PNG and trades CSV
    attachments."""
    message = EmailMessage(policy=policy.default)
    message["Subject"] = subject_of(figures)
    message["From"] = email.sender or "trading-bot@localhost"
    if email.recipients:
        message["To"] = ", ".join(email.recipients)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid("daily-report", domain=_MSGID_DOMAIN)
    message[DATE_HEADER] = figures.day.isoformat()
    cid = make_msgid("figure", domain=_MSGID_DOMAIN)
    message.set_content(text_body(figures))
    message.add_alternative(html_body(figures, cid), subtype="html")
    html_part = message.get_payload()[1]
    html_part.add_related(png, "image", "png", cid=cid, disposition="inline", filename="figure.png")
    message.add_attachment(png, "image", "png", filename=f"daily-{figures.day.isoformat()}.png")
    # the figure shows the most recent trades only; the HTML and this file list them all
    message.add_attachment(
        trades_csv(figures), subtype="csv", filename=f"trades-{figures.day.isoformat()}.csv"
    )
    message.policy = _HEADER_POLICY  # read when the message is written out (see _HEADER_POLICY)
    return message


# -- delivery -------------------------------------------------------------------------------------


def deliver(
    message: EmailMessage,
    png: bytes,
    email_config: EmailConfig,
    secrets: Secrets | None,
    out_dir: Path,
    *,
    send: bool,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryResult:
    """Send ``message`` (``send`` and ``email.smtp_host`` set) or write it to ``out_dir``.

    Never raises. On a final failure the files are written too; ``error`` says why it failed.
    """
    recipients = tuple(email_config.recipients)
    if not send or not email_config.smtp_host:
        return _write(message, png, out_dir, recipients, attempts=0, error=None)
    attempts, waits = 0, ()
    try:
        password = _check(email_config, secrets)
        attempts, waits = _with_retries(
            lambda: _send_once(message, email_config, password),
            email_config,
            email_config.max_attempts,
            email_config.retry_seconds,
            sleep,
        )
        log.info("report_sent", recipients=list(recipients), attempts=attempts, host=email_config.smtp_host)
        return DeliveryResult(True, True, attempts, recipients, None, None, None, waits)
    except _Failure as exc:
        error, attempts, waits = str(exc), exc.attempts, exc.waits
    except Exception as exc:  # a bug or something unforeseen: still keep the report
        log.exception("report_send_crashed")
        error = f"unexpected {type(exc).__name__}: {exc}"
    log.error("report_send_failed", error=error, attempts=attempts, host=email_config.smtp_host)
    return _write(message, png, out_dir, recipients, attempts=attempts, error=error, waits=waits)


def send_alert(
    config: Config | EmailConfig,
    secrets: Secrets | None,
    subject: str,
    text: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """A short plain-text mail (kill-switch trips): at most two quick attempts, never raises.

    False, with a log line, when mail is not configured or the server cannot be reached.
    """
    email = config.email if isinstance(config, Config) else config
    try:
        if not email.smtp_host:
            log.warning("alert_mail_not_configured", subject=subject, hint="set [email] smtp_host")
            return False
        password = _check(email, secrets)
        message = EmailMessage(policy=_HEADER_POLICY)  # plain text only: no base64 part
        message["Subject"], message["From"], message["To"] = (
            subject,
            email.sender,
            ", ".join(email.recipients),
        )
        message["Date"], message["Message-ID"] = (
            formatdate(usegmt=True),
            make_msgid("alert", domain=_MSGID_DOMAIN),
        )
        message.set_content(text)
        quick = dataclasses.replace(email, timeout_seconds=min(email.timeout_seconds, 10.0))
        wait = min(email.retry_seconds, 2.0)
        _with_retries(lambda: _send_once(message, quick, password), quick, 2, wait, sleep)
        log.info("alert_mail_sent", subject=subject, recipients=list(email.recipients))
        return True
    except Exception as exc:
        log.error("alert_mail_failed", subject=subject, error=str(exc))
        return False


def _check(email: EmailConfig, secrets: Secrets | None) -> str | None:
    """The password to log in with (None: no login); a _Failure naming the key when settings are missing."""
    if not email.sender or "@" not in email.sender:
        raise _Failure(f"email.sender: expected the From: address, got {email.sender!r}", temporary=False)
    if not email.recipients:
        raise _Failure(
            "email.recipients: no recipients configured (a list of To: addresses)", temporary=False
        )
    bad = [r for r in email.recipients if "@" not in r]
    if bad:
        raise _Failure(f"email.recipients: not email addresses: {bad!r}", temporary=False)
    password = secrets.smtp_password if secrets is not None else None
    if email.username and not password:
        raise _Failure(
            f"email.username is set ({email.username!r}) but SMTP_PASSWORD is not in the environment",
            temporary=False,
        )
    return password if email.username else None


def _with_retries(
    attempt: Callable[[], None],
    email: EmailConfig,
    max_attempts: int,
    first_wait: float,
    sleep: Callable[[float], None],
) -> tuple[int, tuple[float, ...]]:
    """Run ``attempt`` until it succeeds, a failure is not temporary, or ``max_attempts`` ran out;
    waits ``first_wait`` doubling in between. Returns (attempts, waits) or raises the _Failure."""
    waits: list[float] = []
    for number in range(1, max_attempts + 1):
        try:
            attempt()
            return number, tuple(waits)
        except Exception as exc:
            failure = exc if isinstance(exc, _Failure) else _classify(exc, email)
            retry = failure.temporary and number < max_attempts
            wait = first_wait * 2 ** (number - 1)
            log.warning(
                "smtp_attempt_failed",
                attempt=number,
                of=max_attempts,
                error=str(failure),
                retry_in_seconds=wait if retry else None,
            )
            if not retry:
                failure.attempts, failure.waits = number, tuple(waits)
                raise failure from None
            waits.append(wait)
            sleep(wait)
    raise AssertionError("unreachable")


def _send_once(message: EmailMessage, email: EmailConfig, password: str | None) -> None:
    # our own host name, not socket.getfqdn(): that is a DNS call without a timeout
    local, timeout = socket.gethostname() or "localhost", email.timeout_seconds
    if email.security == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            email.smtp_host,
            email.smtp_port,
            local_hostname=local,
            timeout=timeout,
            context=ssl.create_default_context(),
        )
    else:
        smtp = smtplib.SMTP(email.smtp_host, email.smtp_port, local_hostname=local, timeout=timeout)
    with smtp:
        smtp.ehlo()
        if email.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if password is not None:
            if email.security == "none" and email.smtp_host not in ("localhost", "127.0.0.1", "::1"):
                log.warning("smtp_login_without_tls", host=email.smtp_host, hint="set email.security")
            smtp.login(email.username, password)
        refused = smtp.send_message(message, from_addr=email.sender, to_addrs=list(email.recipients))
    if refused:  # some recipients took it: not a failure, but someone is missing the report
        log.warning("smtp_recipients_refused", refused={k: _reply(*v) for k, v in refused.items()})


def _reply(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {text}".strip()


def _classify(exc: Exception, email: EmailConfig) -> _Failure:
    where = f"{email.smtp_host}:{email.smtp_port}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        reply = _reply(exc.smtp_code, exc.smtp_error)
        return _Failure(
            f"email.username / SMTP_PASSWORD: {where} refused the login ({reply})", temporary=False
        )
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(f"{k}: {_reply(*v)}" for k, v in exc.recipients.items())
        return _Failure(
            f"email.recipients: {where} refused every recipient ({detail})",
            temporary=all(400 <= c < 500 for c in codes),
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        key = "email.security" if "STARTTLS" in str(exc) else "email.username"
        return _Failure(f"{key}: {where}: {exc}", temporary=False)
    if isinstance(exc, smtplib.SMTPSenderRefused):
        reply = _reply(exc.smtp_code, exc.smtp_error)
        return _Failure(
            f"email.sender: {where} refused {exc.sender!r} ({reply})", temporary=400 <= exc.smtp_code < 500
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return _Failure(
            f"{where} replied {_reply(exc.smtp_code, exc.smtp_error)}",
            temporary=not 500 <= exc.smtp_code < 600,
        )
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        return _Failure(f"{where}: TLS connection dropped ({exc})", temporary=True)
    if isinstance(
        exc, ssl.SSLError
    ):  # certificate or protocol: an untrusted server, a wrong port or security
        return _Failure(f"email.security / email.smtp_port: TLS with {where} failed ({exc})", temporary=False)
    if isinstance(exc, TimeoutError):
        return _Failure(
            f"{where}: no answer within {email.timeout_seconds:g} s (email.timeout_seconds)", temporary=True
        )
    if isinstance(exc, (OSError, smtplib.SMTPException)):
        return _Failure(f"{where}: {type(exc).__name__}: {exc}", temporary=True)
    return _Failure(f"{type(exc).__name__}: {exc}", temporary=False)


def _write(
    message: EmailMessage,
    png: bytes,
    out_dir: Path,
    recipients: tuple[str, ...],
    *,
    attempts: int,
    error: str | None,
    waits: tuple[float, ...] = (),
) -> DeliveryResult:
    try:
        day = date.fromisoformat(message.get(DATE_HEADER, "")).isoformat()  # a date, never a path
    except ValueError:
        day = datetime.now(NEW_YORK).date().isoformat()
    eml, png_path = out_dir / f"daily-{day}.eml", out_dir / f"daily-{day}.png"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        eml.write_bytes(message.as_bytes())
        png_path.write_bytes(png)
    except OSError as exc:
        log.error("report_write_failed", dir=str(out_dir), error=str(exc))
        return DeliveryResult(
            False,
            False,
            attempts,
            recipients,
            None,
            None,
            f"{error + '; ' if error else ''}cannot write {out_dir}: {exc}",
            waits,
        )
    log.info("report_written", eml=str(eml), png=str(png_path))
    return DeliveryResult(error is None, False, attempts, recipients, eml, png_path, error, waits)
