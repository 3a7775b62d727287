"""``kill`` and ``resume`` through the real CLI, on a tmp journal, with and without a broker."""

import json

import pytest

from fakes.alpaca_trading import TradingFakeServer, alpaca_broker
from testkit import NO_KEYS, heavy_imports, run_cli, write_alpaca_config, write_config


def _status(config) -> dict:
    result = run_cli("status", "--json", "--config", str(config))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_kill_then_resume_without_keys(tmp_path):
    config = write_config(tmp_path)
    killed = run_cli("kill", "--reason", "fat finger", "--config", str(config), env=NO_KEYS)
    assert killed.returncode == 0, killed.stderr
    assert "HALTED" in killed.stdout and "no broker was reached" in killed.stdout
    info = _status(config)
    assert info["halted"] is True and info["halt_reason"] == "fat finger" and info["halted_at"]
    assert " pid " in info["halted_by"] and "@" in info["halted_by"]
    assert "TRADING HALTED" in run_cli("status", "--config", str(config)).stdout

    resumed = run_cli("resume", "--reason", "checked", "--config", str(config))
    assert resumed.returncode == 0, resumed.stderr
    assert "RESUMED" in resumed.stdout
    info = _status(config)
    assert info["halted"] is False and info["halt_reason"] is None
    assert "HALTED" not in run_cli("status", "--config", str(config)).stdout


@pytest.mark.parametrize("argv", [["kill", "--reason", "x"], ["resume"]])
def test_kill_and_resume_are_light(argv, tmp_path):
    config = write_config(tmp_path)
    heavy, output = heavy_imports(*argv, "--config", str(config))
    assert heavy == [], output


def test_kill_with_keys_cancels_orders_and_closes_positions_at_the_broker(tmp_path):
    server = TradingFakeServer().start()
    try:
        server.set_price("AAPL", 100.0)
        server.set_price("MSFT", 300.0)
        server.add_position("AAPL", 10, 95.0)
        server.add_position("MSFT", 4, 310.0)
        server.add_order(
            client_order_id="resting-1", symbol="AAPL", qty="5", side="buy", type="limit", limit_price="50"
        )
        broker = alpaca_broker(server)
        assert len(broker.open_orders()) == 1 and len(broker.positions()) == 2

        config = write_alpaca_config(tmp_path, server.url)
        env = server.key_env
        result = run_cli("kill", "--reason", "drill", "--config", str(config), env=env)
        assert result.returncode == 0, result.stderr
        assert "HALTED" in result.stdout and "cancelled 1 open order" in result.stdout
        assert "sent 2 closing order" in result.stdout
        server.tick()
        assert broker.open_orders() == [] and broker.positions() == {}
        assert server.secret_key not in result.stdout + result.stderr
        assert _status(config)["halted"] is True
    finally:
        server.stop()


def test_kill_keep_positions_only_cancels(tmp_path):
    server = TradingFakeServer().start()
    try:
        server.add_outside_book()
        config = write_alpaca_config(tmp_path, server.url)
        env = server.key_env
        result = run_cli("kill", "--keep-positions", "--config", str(config), env=env)
        assert result.returncode == 0, result.stderr
        assert "positions kept" in result.stdout
        broker = alpaca_broker(server)
        assert broker.open_orders() == [] and set(broker.positions()) == {"AAPL"}
    finally:
        server.stop()
