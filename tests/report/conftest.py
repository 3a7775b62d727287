"""Fixtures of the daily-report tests: the small journal, SMTP servers, a self-signed certificate."""

from __future__ import annotations

import logging
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from reportkit import build_journal

from fakes.smtp_server import SmtpServer


@pytest.fixture(scope="session")
def journal_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reportkit journal, built once (tests open it read-only)."""
    return build_journal(tmp_path_factory.mktemp("journal") / "journal.sqlite")


@pytest.fixture
def smtp() -> Iterator:
    """Start SMTP servers with ``smtp(**options)``; all are stopped after the test."""
    servers: list[SmtpServer] = []

    def start(**options) -> SmtpServer:
        servers.append(SmtpServer(**options).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(cert.pem, key.pem): self-signed for 127.0.0.1, made offline by the openssl binary."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl binary to make a self-signed certificate: STARTTLS/SSL tests skipped")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    done = subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if done.returncode != 0:
        pytest.skip(f"openssl could not make a self-signed certificate: {done.stderr.strip()[:200]}")
    return cert, key


@pytest.fixture
def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Tests that configure logging put the root logger's handlers back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
