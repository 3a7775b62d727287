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
import html
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import structlog

from bot.config import Config, EmailConfig, Secrets
from bot.report.daily_data import NEW_YORK, DailyFigures, money

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
        files = f"{self.eml_path} and {self.png_path}" if self.eml_path else "nowhere (writing failed too)"
        if self.sent:
            tries = f" ({self.attempts} attempts)" if self.attempts > 1 else ""
            return f"report sent to {', '.join(self.recipients)}{tries}"
        if self.error:
            return f"report NOT sent after {self.attempts} attempt(s): {self.error}; kept in {files}"
        return f"report written to {files}"


class _Failure(Exception):
    def __init__(self, text: str, *, temporary: bool) -> None:
        super().__init__(text)
        self.temporary = temporary


# -- the message ----------------------------------------------------------------------------------


def percent(value: float, *, signed: bool = True) -> str:
    rounded = round(value, 2) + 0.0  # + 0.0 turns -0.0 into 0.0: no "-0.00%"
    return f"{rounded:+.2f}%" if signed else f"{rounded:.2f}%"


def subject_of(figures: DailyFigures) -> str:
    synthetic = " [SYNTHETIC]" if figures.synthetic else ""
    return (f"Trading bot daily report {figures.day.isoformat()}: PnL {money(figures.pnl)} "
            f"({percent(figures.return_pct)}){synthetic}")  # fmt: skip


def figure_lines(figures: DailyFigures) -> list[tuple[str, str]]:
    """(label, value) of the report's figures: the text and the HTML part both print these."""
    f = figures
    win = ("n/a (no closing trades)" if f.win_rate is None
           else f"{percent(100 * f.win_rate, signed=False)} ({f.wins} of {f.closing_trades} closing trades)")  # fmt: skip
    bh = [p for p in f.trailing if p.buy_and_hold is not None]
    vs = "n/a (no bars journaled)"
    if len(bh) > 1:
        vs = (f"{percent(100 * (bh[-1].buy_and_hold / bh[0].buy_and_hold - 1))} vs strategy "
              f"{percent(100 * (bh[-1].equity / bh[0].equity - 1))} since {bh[0].day.isoformat()}")  # fmt: skip
    return [
        ("PnL", money(f.pnl)),
        ("Return", percent(f.return_pct)),
        ("Fees", f"${f.fees:,.2f}"),
        ("Win rate", win),
        ("Exposure", percent(100 * f.exposure, signed=False)),
        ("Halts", f"{f.halts} today; trading {'HALTED' if f.halted_now else 'active'} now"),
        ("Equity", f"${f.end_equity:,.2f} (previous close ${f.start_equity:,.2f}; cash ${f.cash:,.2f})"),
        ("Drawdown", f"{percent(100 * f.drawdown, signed=False)} below the peak"),
        ("Buy and hold", vs),
        ("Trades", str(len(f.trades))),
    ]


def _tables(figures: DailyFigures) -> list[tuple[str, list[str], list[list[str]]]]:
    trades = [[t.ts.astimezone(NEW_YORK).strftime("%H:%M:%S"), t.symbol, t.side, f"{t.qty:,}", f"{t.price:,.2f}",
               f"{t.commission:,.2f}", "" if t.realized is None else money(t.realized)] for t in figures.trades]  # fmt: skip
    positions = [[h.symbol, f"{h.qty:,}", f"{h.avg_cost:,.2f}", "n/a" if h.last_close is None else f"{h.last_close:,.2f}"]
                 for h in figures.positions]  # fmt: skip
    return [
        ("Trades (New York time)", ["time", "symbol", "side", "qty", "price", "fee", "realised"], trades),
        ("Positions at the close", ["symbol", "qty", "avg cost", "last close"], positions),
    ]


def _heading(figures: DailyFigures) -> list[str]:
    f = figures
    lines = [f"Trading bot daily report for {f.day.isoformat()} (New York)"
             + (", early close at 13:00" if f.early_close else "")]  # fmt: skip
    lines.append(f"Run {f.run_id} ({f.mode}, strategy {f.strategy}, {', '.join(f.symbols)}, {f.timeframe} bars, "
                 f"source {f.source})")  # fmt: skip
    if f.synthetic:
        lines.append("SYNTHETIC data: these results mean nothing about real markets.")
    return lines


def text_body(figures: DailyFigures) -> str:
    lines = _heading(figures) + [""]
    lines += [f"{label + ':':<14}{value}" for label, value in figure_lines(figures)]
    for title, header, rows in _tables(figures):
        lines += ["", f"{title}:" if rows else f"{title}: none"]
        if rows:
            widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
            lines += ["  " + "  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in [header, *rows]]
    lines += ["", f"Journal: {figures.journal}. The figure is attached."]
    return "\n".join(lines) + "\n"


def html_body(figures: DailyFigures, cid: str) -> str:
    e = html.escape
    parts = [f"<h2>{e(_heading(figures)[0])}</h2>"]
    for line in _heading(figures)[1:]:
        style = " style='color:darkred'" if line.startswith("SYNTHETIC") else ""
        parts.append(f"<p{style}>{e(line)}</p>")
    rows = "".join(f"\n<tr><th align='left'>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in figure_lines(figures))
    parts.append(f"<table cellpadding='3'>{rows}</table>")
    parts.append(f"<p><img src=\"cid:{cid.strip('<>')}\" alt=\"daily report figure\" width=\"1000\"></p>")
    for title, header, body in _tables(figures):
        parts.append(f"<h3>{e(title)}</h3>")
        if not body:
            parts.append("<p>none</p>")
            continue
        head = "".join(f"<th>{e(h)}</th>" for h in header)
        cells = "".join("\n<tr>" + "".join(f"<td align='right'>{e(c)}</td>" for c in r) + "</tr>" for r in body)
        parts.append(f"<table border='1' cellspacing='0' cellpadding='3'><tr>{head}</tr>{cells}\n</table>")
    return "<html><body style='font-family:sans-serif'>" + "\n".join(parts) + "</body></html>\n"


def build_message(figures: DailyFigures, png: bytes, email: EmailConfig) -> EmailMessage:
    """multipart/mixed: [alternative: text, related: (HTML, inline PNG)], PNG attachment."""
    message = EmailMessage(policy=policy.default)
    message["Subject"] = subject_of(figures)
    message["From"] = email.sender or "trading-bot@localhost"
    if email.recipients:
        message["To"] = ", ".join(email.recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid("daily-report", domain=_MSGID_DOMAIN)
    message[DATE_HEADER] = figures.day.isoformat()
    cid = make_msgid("figure", domain=_MSGID_DOMAIN)
    message.set_content(text_body(figures))
    message.add_alternative(html_body(figures, cid), subtype="html")
    message.get_payload()[1].add_related(png, "image", "png", cid=cid, disposition="inline", filename="figure.png")
    message.add_attachment(png, maintype="image", subtype="png", filename=f"daily-{figures.day.isoformat()}.png")
    message.policy = _HEADER_POLICY  # read when the message is written out (see _HEADER_POLICY)
    return message


# -- delivery -------------------------------------------------------------------------------------


def deliver(message: EmailMessage, png: bytes, email_config: EmailConfig, secrets: Secrets | None, out_dir: Path,
            *, send: bool, sleep: Callable[[float], None] = time.sleep) -> DeliveryResult:  # fmt: skip
    """Send ``message`` (``send`` and ``email.smtp_host`` set) or write it to ``out_dir``.

    Never raises. On a final failure the files are written too; ``error`` says why it failed.
    """
    recipients = tuple(email_config.recipients)
    if not send or not email_config.smtp_host:
        return _write(message, png, out_dir, recipients, attempts=0, error=None)
    attempts, waits, error = 0, [], None
    try:
        password = _check(email_config, secrets)
        attempts, waits = _with_retries(lambda: _send_once(message, email_config, password), email_config,
                                        email_config.max_attempts, email_config.retry_seconds, sleep)  # fmt: skip
        log.info("report_sent", recipients=list(recipients), attempts=attempts, host=email_config.smtp_host)
        return DeliveryResult(True, True, attempts, recipients, None, None, None, tuple(waits))
    except _Failure as exc:
        error = str(exc)
        attempts, waits = getattr(exc, "attempts", attempts), getattr(exc, "waits", waits)
    except Exception as exc:  # a bug or something unforeseen: still keep the report
        log.exception("report_send_crashed")
        error = f"unexpected {type(exc).__name__}: {exc}"
    log.error("report_send_failed", error=error, attempts=attempts, host=email_config.smtp_host)
    return _write(message, png, out_dir, recipients, attempts=attempts, error=error, waits=tuple(waits))


def send_alert(config: Config | EmailConfig, secrets: Secrets | None, subject: str, text: str,
               *, sleep: Callable[[float], None] = time.sleep) -> bool:  # fmt: skip
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
        message["Subject"], message["From"], message["To"] = subject, email.sender, ", ".join(email.recipients)
        message["Date"], message["Message-ID"] = formatdate(), make_msgid("alert", domain=_MSGID_DOMAIN)
        message.set_content(text)
        quick = dataclasses.replace(email, timeout_seconds=min(email.timeout_seconds, 10.0))
        _with_retries(lambda: _send_once(message, quick, password), quick, 2, min(email.retry_seconds, 2.0), sleep)
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
        raise _Failure("email.recipients: no recipients configured (a list of To: addresses)", temporary=False)
    bad = [r for r in email.recipients if "@" not in r]
    if bad:
        raise _Failure(f"email.recipients: not email addresses: {bad!r}", temporary=False)
    password = secrets.smtp_password if secrets is not None else None
    if email.username and not password:
        raise _Failure(f"email.username is set ({email.username!r}) but SMTP_PASSWORD is not in the environment",
                       temporary=False)  # fmt: skip
    return password if email.username else None


def _with_retries(attempt: Callable[[], None], email: EmailConfig, max_attempts: int, first_wait: float,
                  sleep: Callable[[float], None]) -> tuple[int, list[float]]:  # fmt: skip
    waits: list[float] = []
    for number in range(1, max_attempts + 1):
        try:
            attempt()
            return number, waits
        except Exception as exc:
            failure = exc if isinstance(exc, _Failure) else _classify(exc, email)
            retry = failure.temporary and number < max_attempts
            wait = first_wait * 2 ** (number - 1)
            log.warning("smtp_attempt_failed", attempt=number, of=max_attempts, error=str(failure),
                        retry_in_seconds=wait if retry else None)  # fmt: skip
            if not retry:
                failure.attempts, failure.waits = number, waits  # type: ignore[attr-defined]
                raise failure from None
            waits.append(wait)
            sleep(wait)
    raise AssertionError("unreachable")


def _send_once(message: EmailMessage, email: EmailConfig, password: str | None) -> None:
    # our own host name, not socket.getfqdn(): that is a DNS call without a timeout
    local, timeout = socket.gethostname() or "localhost", email.timeout_seconds
    if email.security == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(email.smtp_host, email.smtp_port, local_hostname=local,
                                              timeout=timeout, context=ssl.create_default_context())  # fmt: skip
    else:
        smtp = smtplib.SMTP(email.smtp_host, email.smtp_port, local_hostname=local, timeout=timeout)
    with smtp:
        smtp.ehlo()
        if email.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if password is not None:
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
        return _Failure(f"email.username / SMTP_PASSWORD: {where} refused the login ({_reply(exc.smtp_code, exc.smtp_error)})",
                        temporary=False)  # fmt: skip
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(f"{k}: {_reply(*v)}" for k, v in exc.recipients.items())
        return _Failure(f"email.recipients: {where} refused every recipient ({detail})",
                        temporary=all(400 <= c < 500 for c in codes))  # fmt: skip
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        key = "email.security" if "STARTTLS" in str(exc) else "email.username"
        return _Failure(f"{key}: {where}: {exc}", temporary=False)
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return _Failure(f"email.sender: {where} refused {exc.sender!r} ({_reply(exc.smtp_code, exc.smtp_error)})",
                        temporary=400 <= exc.smtp_code < 500)  # fmt: skip
    if isinstance(exc, smtplib.SMTPResponseException):
        return _Failure(f"{where} replied {_reply(exc.smtp_code, exc.smtp_error)}",
                        temporary=not 500 <= exc.smtp_code < 600)  # fmt: skip
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        return _Failure(f"{where}: TLS connection dropped ({exc})", temporary=True)
    if isinstance(exc, ssl.SSLError):  # certificate or protocol: wrong port or security, or an untrusted server
        return _Failure(f"email.security / email.smtp_port: TLS with {where} failed ({exc})", temporary=False)
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return _Failure(f"{where}: no answer within {email.timeout_seconds:g} s (email.timeout_seconds)",
                        temporary=True)  # fmt: skip
    if isinstance(exc, (OSError, smtplib.SMTPException)):
        return _Failure(f"{where}: {type(exc).__name__}: {exc}", temporary=True)
    return _Failure(f"{type(exc).__name__}: {exc}", temporary=False)


def _write(message: EmailMessage, png: bytes, out_dir: Path, recipients: tuple[str, ...], *, attempts: int,
           error: str | None, waits: tuple[float, ...] = ()) -> DeliveryResult:  # fmt: skip
    day = message.get(DATE_HEADER) or datetime.now(NEW_YORK).date().isoformat()
    eml, png_path = out_dir / f"daily-{day}.eml", out_dir / f"daily-{day}.png"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        eml.write_bytes(message.as_bytes())
        png_path.write_bytes(png)
    except OSError as exc:
        log.error("report_write_failed", dir=str(out_dir), error=str(exc))
        return DeliveryResult(False, False, attempts, recipients, None, None,
                              f"{error + '; ' if error else ''}cannot write {out_dir}: {exc}", waits)  # fmt: skip
    log.info("report_written", eml=str(eml), png=str(png_path))
    return DeliveryResult(error is None, False, attempts, recipients, eml, png_path, error, waits)
