"""``[dashboard] enabled``: the daemon serves the dashboard on its own thread; a port it cannot
bind is one warning and the daemon goes on."""

from __future__ import annotations

import socket
from dataclasses import replace

from conftest import http
from structlog.testing import capture_logs

from bot.config import Config, DashboardConfig, load_config
from bot.dashboard.server import start_for_daemon


def _enabled(site, *, port: int) -> Config:
    return replace(load_config(site), dashboard=DashboardConfig(enabled=True, host="127.0.0.1", port=port))


def test_the_daemon_hook_serves_on_a_thread(site, capsys):
    config = _enabled(site, port=0)
    server = start_for_daemon(config, config_path=str(site), dry_run=False)
    assert server is not None
    try:
        assert "dashboard token (shown once" in capsys.readouterr().out
        state = http(f"http://127.0.0.1:{server.port}/api/state")
        assert state.status == 200 and state.json()["status"]["last_run"]["run_id"] == "paper-1"
    finally:
        server.shutdown()
        server.server_close()


def test_a_port_it_cannot_bind_is_one_warning_not_a_stop(site):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = _enabled(site, port=port)
        with capture_logs() as logs:
            assert start_for_daemon(config, config_path=str(site), dry_run=False) is None
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert [e["event"] for e in warnings] == ["dashboard_not_started"] and warnings[0]["port"] == port
