"""Every endpoint of the real dashboard process, over HTTP on 127.0.0.1."""

from __future__ import annotations

import stat

from conftest import http

from bot.journal.store import Journal
from risk.killswitch import KillSwitch

from dashkit import REFUSED_REASON, STOP_PRICE


def _halted(site) -> bool:
    with Journal(site.parent / "journal.sqlite", readonly=True) as journal:
        return KillSwitch(journal).state().halted


def test_the_page_and_its_static_files_hold_no_data_and_no_token(dashboard):
    url, token, _ = dashboard
    page = http(url)
    assert page.status == 200 and "text/html" in page.headers["Content-Type"]
    assert 'id="kill"' in page.text and 'id="resume"' in page.text and token not in page.text
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert "http" not in page.text.replace("http-equiv", "")  # nothing loaded from elsewhere
    script = http(url + "static/dashboard.js")
    assert script.status == 200 and "X-Dashboard-Token" in script.text and token not in script.text
    assert http(url + "static/dashboard.css").status == 200


def test_state_has_status_positions_with_stops_decisions_forecasts_headlines_reports(dashboard):
    url, token, _ = dashboard
    answer = http(url + "api/state")
    assert answer.status == 200 and token not in answer.text
    state = answer.json()
    status = state["status"]
    assert status["halted"] is False and status["last_run"]["run_id"] == "paper-1"
    assert status["last_run"]["model"]["model_status"] == "active"
    assert status["positions"] == [{"symbol": "AAPL", "qty": 10, "avg_price": 100.0, "stop": STOP_PRICE}]
    assert [o["client_order_id"] for o in status["open_orders"]] == ["entry-1-stop"]
    assert len(state["decisions"]) == 30  # the last 30, newest first
    assert state["decisions"][0]["ts"] >= state["decisions"][-1]["ts"]
    assert any(d["verdict"] == "refuse" and d["reason"] == REFUSED_REASON for d in state["decisions"])
    assert {(p["symbol"], p["model"]) for p in state["forecasts"]} == {
        (s, m) for s in ("AAPL", "MSFT") for m in ("lstm-test", "lstm-test/risk")
    }
    assert state["headlines"][0]["title"].startswith("Apple beats") and state["headlines"][0]["score"] == 0.6
    assert [r["name"] for r in state["reports"]] == ["daily-2025-03-04.png"]
    assert state["equity_today"]["points"] == 30 and state["equity_since_start"]["points"] == 2
    assert state["equity_since_start"]["hold_return"] is not None


def test_equity_charts_are_svg_and_a_bad_span_is_refused(dashboard):
    url, _, _ = dashboard
    for span, title in (("today", "equity today"), ("all", "equity since the start")):
        chart = http(url + f"api/equity.svg?span={span}")
        assert chart.status == 200 and chart.headers["Content-Type"].startswith("image/svg+xml")
        assert chart.text.startswith("<svg") and 'class="equity-line"' in chart.text and title in chart.text
    assert http(url + "api/equity.svg?span=week").status == 400


def test_report_files_are_served_and_nothing_outside_report_dir(dashboard, site):
    url, _, _ = dashboard
    figure = http(url + "reports/daily-2025-03-04.png")
    assert figure.status == 200 and figure.body.startswith(b"\x89PNG")
    assert http(url + "reports/..%2Fconfig.toml").status == 404
    assert http(url + "reports/../journal.sqlite").status == 404
    assert http(url + "reports/missing.png").status == 404


def test_kill_without_the_token_is_refused_and_nothing_is_halted(dashboard, site):
    url, token, _ = dashboard
    for headers in ({}, {"X-Dashboard-Token": "wrong"}, {"Cookie": f"token={token}"}):
        answer = http(url + "api/kill", method="POST", headers=headers, data=b"")
        assert answer.status == 403, headers
        assert "token" in answer.json()["error"]
    assert not _halted(site)
    assert not (site.parent / "journal.sqlite.HALT").exists()


def test_a_cross_origin_post_is_refused_even_with_the_token(dashboard, site):
    url, token, _ = dashboard
    for headers in (
        {"Origin": "http://evil.example"},
        {"Referer": "http://evil.example/page"},
        {"Origin": "null"},
    ):
        answer = http(
            url + "api/kill", method="POST", headers={"X-Dashboard-Token": token, **headers}, data=b""
        )
        assert answer.status == 403 and "cross-origin" in answer.json()["error"]
    assert not _halted(site)


def test_a_foreign_host_name_is_refused_on_loopback(dashboard):
    url, _, _ = dashboard
    assert http(url + "api/state", headers={"Host": "evil.example"}).status == 403
    assert http(url, headers={"Host": "localhost"}).status == 200


def test_kill_and_resume_with_the_token_run_the_commands(dashboard, site):
    url, token, _ = dashboard
    origin = url.rstrip("/")
    kill = http(
        url + "api/kill",
        method="POST",
        headers={"X-Dashboard-Token": token, "Origin": origin, "Content-Type": "application/json"},
        data=b'{"reason": "enough for today"}',
    )
    assert kill.status == 200, kill.text
    assert kill.json()["exit_code"] == 0 and "HALTED" in kill.json()["output"]
    with Journal(site.parent / "journal.sqlite", readonly=True) as journal:
        state = KillSwitch(journal).state()
    assert state.halted and state.reason == "enough for today"
    assert http(url + "api/state").json()["status"]["halt_reason"] == "enough for today"

    resume = http(
        url + "api/resume",
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        data=f"token={token}&reason=back".encode(),
    )
    assert resume.status == 200 and "RESUMED" in resume.json()["output"]
    assert not _halted(site)


def test_the_token_file_is_private_and_the_token_printed_once(dashboard, site):
    url, token, lines = dashboard
    path = site.parent / "journal.sqlite.dashboard-token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert any(token in line for line in lines)
    from dashkit import start_dashboard, stop_dashboard

    proc, _, again = start_dashboard(site)
    stop_dashboard(proc)
    assert not any(token in line for line in again) and any(str(path) in line for line in again)


def test_before_any_journal_the_page_says_so_and_a_damaged_one_is_a_503(tmp_path):
    from dashkit import start_dashboard, stop_dashboard
    from testkit import write_config

    config = write_config(tmp_path)
    proc, url, _ = start_dashboard(config)
    try:
        state = http(url + "api/state")
        assert state.status == 200
        assert state.json()["status"]["last_run"] is None and state.json()["decisions"] == []
        assert "no equity recorded yet" in http(url + "api/equity.svg?span=all").text
        (tmp_path / "journal.sqlite").write_bytes(b"not a journal at all" * 100)
        damaged = http(url + "api/state")
        assert damaged.status == 503 and "journal.path" in damaged.json()["error"]
        assert http(url + "api/equity.svg?span=today").status == 503
    finally:
        stop_dashboard(proc)
