"""A real SMTP server for mail tests (aiosmtpd): 127.0.0.1 on a free port, in a thread.

    server = SmtpServer(users={"bot": "pw"}).start()
    ... send to 127.0.0.1:server.port ...
    server.messages[0].message  # the parsed email.message.EmailMessage
    server.stop()

Options: ``users`` (AUTH LOGIN/PLAIN without TLS), ``starttls`` (an SSLContext offered through
STARTTLS), ``implicit_tls`` (an SSLContext wrapping the connection from the start, like port 465),
``refuse_recipients`` (550 for every RCPT), ``temporary_failures`` (the first N DATA commands get 451).
Every accepted message is recorded with the login it came through.
"""

from __future__ import annotations

import socket
import ssl
import threading
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    """A TCP port nobody listens on right now (bind to 0, then release it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    login: str | None

    @property
    def message(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.data)


class _Handler:
    def __init__(self, owner: SmtpServer) -> None:
        self.owner = owner

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd)
        if self.owner.refuse_recipients:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd)
        owner = self.owner
        with owner.lock:
            owner.data_commands += 1
            if owner.data_commands <= owner.temporary_failures:
                return "451 4.3.0 try again later"
            login = session.auth_data  # what the authenticator returned: the login name
            owner.messages.append(
                Received(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.content, login)
            )
        return "250 Message accepted"


class SmtpServer:
    def __init__(
        self,
        *,
        users: dict[str, str] | None = None,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        refuse_recipients: bool = False,
        temporary_failures: int = 0,
    ) -> None:
        self.users = users
        self.refuse_recipients = refuse_recipients
        self.temporary_failures = temporary_failures
        self.messages: list[Received] = []
        self.data_commands = 0
        self.failed_logins = 0
        self.lock = threading.Lock()
        self.port = free_port()
        kwargs: dict = {}
        if users is not None:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=False)
        if starttls is not None:
            kwargs.update(tls_context=starttls)
        if implicit_tls is not None:
            kwargs.update(ssl_context=implicit_tls)
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, server_hostname="fake-smtp.local", **kwargs
        )

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            if self.users and self.users.get(login) == password:
                return AuthResult(success=True, auth_data=login)
        with self.lock:
            self.failed_logins += 1
        return AuthResult(success=False, handled=False)

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
