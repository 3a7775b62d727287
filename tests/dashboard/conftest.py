"""Fixtures of the dashboard tests: a journal with a paper run and the real dashboard process."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from dashkit import build_journal, start_dashboard, stop_dashboard
from testkit import KEY_VARS, write_config


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> dict:
        return json.loads(self.body)


def http(
    url: str, *, method: str = "GET", headers: dict[str, str] | None = None, data: bytes | None = None
) -> Answer:
    """One request with the standard library; an HTTP error status is an answer, not an exception."""
    request = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return Answer(answer.status, dict(answer.headers), answer.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers), error.read())


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch):
    for name in (*KEY_VARS, "SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A config whose journal holds a small paper run, and a report figure in report.dir."""
    config = write_config(tmp_path)
    build_journal(tmp_path / "journal.sqlite", decision_every=2)
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "daily-2025-03-04.png").write_bytes(b"\x89PNG\r\n\x1a\nfigure")
    return config


@pytest.fixture
def dashboard(site: Path):
    """The real dashboard process on 127.0.0.1 (any free port): (url, token, printed lines)."""
    proc, url, lines = start_dashboard(site)
    token = (site.parent / "journal.sqlite.dashboard-token").read_text().strip()
    yield url, token, lines
    stop_dashboard(proc)
