"""The dashboard's safety: a kill that flattens at the Alpaca fake, no secret in any answer, a
non-loopback host only with a token (and then reads need it too), a taken port, and the checks."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from conftest import http

from bot.dashboard import guard
from bot.journal.store import Journal
from risk.killswitch import KillSwitch

from dashkit import REPO, start_dashboard, stop_dashboard
from fakes.alpaca_trading import TradingFakeServer
from testkit import write_config


def test_kill_with_the_token_halts_the_journal_and_flattens_at_the_alpaca_fake(tmp_path):
    server = TradingFakeServer().start()
    try:
        server.add_outside_book()  # 10 AAPL held and a resting limit buy
        config = write_config(tmp_path, f'[alpaca]\ntrading_url = "{server.url}"\n')
        from dashkit import build_journal

        build_journal(tmp_path / "journal.sqlite")
        proc, url, _ = start_dashboard(config, env=server.key_env)
        try:
            token = (tmp_path / "journal.sqlite.dashboard-token").read_text().strip()
            refused = http(url + "api/kill", method="POST", data=b"")
            assert refused.status == 403
            assert server.holdings and not any(m == "DELETE" for m, *_ in server.requests)
            answer = http(url + "api/kill", method="POST", headers={"X-Dashboard-Token": token}, data=b"")
        finally:
            stop_dashboard(proc)
        assert answer.status == 200, answer.text
        output = answer.json()["output"]
        assert "broker: cancelled 1 open order(s)" in output and "sent 1 closing order(s)" in output
        assert server.key_id not in output and server.secret_key not in output
        server.tick()
        assert all(qty == 0 for qty, _ in server.holdings.values())  # flat at the broker
        assert [o["status"] for o in server.orders_with_client_id("resting-1")] == ["canceled"]
    finally:
        server.stop()
    with Journal(tmp_path / "journal.sqlite", readonly=True) as journal:
        state = KillSwitch(journal).state()
    assert state.halted and state.reason == "kill from the dashboard"


def test_no_secret_in_any_answer(site):
    secrets = {
        "ALPACA_API_KEY": "PKSECRETKEYID000001",
        "ALPACA_SECRET_KEY": "secretsecretsecret0000000000001",
        "SMTP_PASSWORD": "smtp-password-0001",
    }
    # an unreachable broker: the reads never call it, and no kill is sent here
    site.write_text(site.read_text() + '\n[alpaca]\ntrading_url = "http://127.0.0.1:9"\n')
    proc, url, lines = start_dashboard(site, env=secrets)
    try:
        token = (site.parent / "journal.sqlite.dashboard-token").read_text().strip()
        answers = [
            http(url + path)
            for path in (
                "",
                "static/dashboard.js",
                "static/dashboard.css",
                "api/state",
                "api/equity.svg?span=today",
                "api/equity.svg?span=all",
                "reports/daily-2025-03-04.png",
                "missing",
            )
        ]
        answers.append(http(url + "api/kill", method="POST", data=b""))  # a refusal names no secret
    finally:
        stop_dashboard(proc)
    for answer in answers:
        for value in (*secrets.values(), token):
            assert value.encode() not in answer.body
            assert all(value not in v for v in answer.headers.values())
    assert not any(v in line for line in lines for v in secrets.values())


def test_a_non_loopback_host_without_a_token_refuses_to_start(tmp_path):
    config = write_config(tmp_path)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "dashboard",
            "--config",
            str(config),
            "--host",
            "0.0.0.0",
            "--port",
            "0",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "no token yet" in done.stderr
    assert not (tmp_path / "journal.sqlite.dashboard-token").exists()


def test_off_loopback_reads_need_the_token_too(site):
    proc, _, _ = start_dashboard(site)  # the first start, on loopback, makes the token
    stop_dashboard(proc)
    token = (site.parent / "journal.sqlite.dashboard-token").read_text().strip()
    proc, url, lines = start_dashboard(site, "--host", "0.0.0.0")
    try:
        assert not any(token in line for line in lines)
        local = url.replace("0.0.0.0", "127.0.0.1")
        page = http(local)
        assert page.status == 200 and token not in page.text and 'data-token-for-reads="true"' in page.text
        assert http(local + "api/state").status == 403
        assert http(local + "reports/daily-2025-03-04.png").status == 403
        assert http(local + "api/state", headers={"X-Dashboard-Token": token}).status == 200
    finally:
        stop_dashboard(proc)


def test_a_taken_port_is_one_line_and_exit_2(tmp_path):
    config = write_config(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "bot", "dashboard", "--config", str(config), "--port", str(port)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2 and done.stderr.startswith("error: dashboard: cannot listen on")
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("origin", "referer", "host", "ok"),
    [
        (None, None, "127.0.0.1:8765", True),  # not a browser: the token alone decides
        ("http://127.0.0.1:8765", None, "127.0.0.1:8765", True),
        ("http://127.0.0.1:8766", None, "127.0.0.1:8765", False),
        ("http://localhost:8765", None, "127.0.0.1:8765", False),
        (None, "http://127.0.0.1:8765/", "127.0.0.1:8765", True),
        (None, "http://evil.example/x", "127.0.0.1:8765", False),
        ("null", None, "127.0.0.1:8765", False),
        ("file://", None, "127.0.0.1:8765", False),
    ],
)
def test_same_origin(origin, referer, host, ok):
    assert guard.same_origin(origin, referer, host) is ok


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("127.0.0.2", True),
        ("0.0.0.0", False),
        ("192.168.1.5", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host, loopback):
    assert guard.is_loopback(host) is loopback


def test_host_header_checks_only_on_loopback():
    assert guard.host_allowed("127.0.0.1:8765", True) and guard.host_allowed("[::1]:8765", True)
    assert not guard.host_allowed("evil.example:8765", True) and not guard.host_allowed(None, True)
    assert guard.host_allowed("bot.lan:8765", False)
