"""``python -m bot probe-alpaca``: run with the real alpaca-py client against the strict local fake,
whose findings must equal the fake's own assumptions (and follow its switches), leaving nothing
open; refusals of a non-paper URL and of missing keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.alpaca_data import with_one_minute
from fakes.alpaca_trading import OPEN, TradingFakeServer
from testkit import NO_KEYS, run_cli, write_alpaca_config

KEY, SECRET = "probe-key-id", "probe-secret"
ASSUMED = {
    "legs_after_fill": "un-nested",
    "wash_trade": "refused",
    "cancel": "pending_cancel -> canceled",
    "held_shares": "refused",
    "leg_time_in_force": "day",
}


@pytest.fixture
def server() -> Iterator[TradingFakeServer]:
    s = TradingFakeServer(key_id=KEY, secret_key=SECRET).start()
    data = with_one_minute(s, "F", 12.0)
    s.cancel_delay = 0.1  # still a pending_cancel to see, but quick
    try:
        yield s
    finally:
        s.stop()
        data.stop()


def probe(
    tmp_path: Path, server: TradingFakeServer, *args: str, url: str | None = None, env: dict | None = None
):
    config = write_alpaca_config(tmp_path, url or server.url, server.data_url)
    return run_cli(
        "probe-alpaca",
        "--config",
        str(config),
        "--wait",
        "3",
        *args,
        cwd=tmp_path,
        env=server.key_env if env is None else env,
        timeout=60,
    )


def findings(result) -> dict[str, dict]:
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    return {f["behaviour"]: f for f in report["findings"]}


def assert_nothing_left(server: TradingFakeServer) -> None:
    assert [o["client_order_id"] for o in server.orders if o["status"] in OPEN] == []
    assert server.holdings == {}
    assert all(o["client_order_id"].startswith("probe-") for o in server.orders if not o["_parent"])


def test_against_the_strict_fake_the_probe_finds_what_the_fake_assumes_and_cleans_up(server, tmp_path):
    result = probe(tmp_path, server, "--yes", "--json")
    found = findings(result)
    assert {k: f["paper_says"] for k, f in found.items()} == ASSUMED
    assert all(f["matches"] for f in found.values())
    assert "42210000" in found["wash_trade"]["detail"] and "40310000" in found["held_shares"]["detail"]
    report = json.loads(result.stdout)
    assert report["clean"] and report["cleanup"]["left"] == []
    assert any("sell 1 F filled" in line for line in report["cleanup"]["done"])  # the bought share sold back
    assert_nothing_left(server)


def test_the_probe_follows_the_fakes_switches_and_cleans_up_two_shares_and_two_legs(server, tmp_path):
    server.wash_blocks_complex, server.legs_inherit_tif, server.cancel_delay = False, False, 0
    server.legs_unnest_after_fill = False
    found = findings(probe(tmp_path, server, "--yes", "--json"))
    assert found["wash_trade"]["paper_says"] == "accepted" and found["wash_trade"]["matches"] is False
    assert found["leg_time_in_force"]["paper_says"] == "gtc"
    assert found["cancel"]["paper_says"] == "canceled"
    assert (
        found["held_shares"]["paper_says"] == "refused" and found["legs_after_fill"]["paper_says"] == "nested"
    )
    assert_nothing_left(server)


def test_with_the_market_closed_only_the_resting_order_probes_run(server, tmp_path):
    server.market_open = False
    result = probe(tmp_path, server, "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    row = lambda letter: next(line for line in lines if line.startswith(f"({letter})"))  # noqa: E731
    assert row("e").rstrip().endswith("| day") and row("c").rstrip().endswith("| pending_cancel -> canceled")
    for letter in "abd":
        assert row(letter).rstrip().endswith("| not checked")
    assert "needs an open market" in result.stdout and "nothing left open by the probe" in result.stdout
    assert [o for o in server.posts if o.get("type") == "market"] == []
    assert_nothing_left(server)


def test_without_yes_it_prints_the_plan_and_sends_nothing(server, tmp_path):
    result = probe(tmp_path, server)
    assert result.returncode == 0, result.stderr
    assert "Nothing was sent" in result.stdout and "--yes" in result.stdout
    assert server.requests == []


def test_a_symbol_the_account_already_holds_is_refused_before_any_order(server, tmp_path):
    server.add_position("F", 3, 11.0)
    result = probe(tmp_path, server, "--yes")
    assert result.returncode == 2 and "--symbol" in result.stderr and "Traceback" not in result.stderr
    assert server.posts == [] and server.holdings == {"F": (3, 11.0)}


def test_a_non_paper_url_is_refused_with_exit_2_naming_the_key(server, tmp_path):
    for url in ("https://api.alpaca.markets", "https://example.com"):
        result = probe(tmp_path, server, "--yes", url=url)
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stderr.startswith("error: alpaca.trading_url:") and "Traceback" not in result.stderr
    assert server.requests == []


def test_missing_keys_are_refused_with_exit_2_naming_the_variables(server, tmp_path):
    result = probe(tmp_path, server, "--yes", env=NO_KEYS)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "ALPACA_API_KEY" in result.stderr and "ALPACA_SECRET_KEY" in result.stderr
    assert server.requests == []


def test_an_order_whose_answer_was_lost_is_still_found_and_cancelled(server, tmp_path):
    server.inject("POST", "/v2/orders", 504, after=True)  # the first order lands, its answer does not
    found = findings(probe(tmp_path, server, "--yes", "--json"))
    assert found["leg_time_in_force"]["paper_says"] is None and "no answer" in found["cancel"]["detail"]
    assert found["legs_after_fill"]["paper_says"] == "un-nested"  # the rest still ran
    tif = [o for o in server.orders if o["client_order_id"].endswith("-tif")]
    assert tif and tif[0]["status"] == "canceled"
    assert_nothing_left(server)
