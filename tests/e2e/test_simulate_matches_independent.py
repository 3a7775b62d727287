"""`simulate --source csv:../shared/data/daily --symbols AAPL,MSFT --strategy sma_cross --json`
against an independent NumPy/pandas computation of the same rules on the same files."""

import csv
import json
import math

import numpy as np
import pandas as pd

from testkit import NO_LOSS_LIMITS, require_shared_data, run_cli, write_config

# the repo's config.toml defaults, spelled out so this computation stands on its own
CASH, SLIP, ALLOC, BAND, MAX_PCT, FAST, SLOW = 100_000.0, 1e-4, 0.95, 0.25, 0.5, 10, 30
CASH_BUFFER = 0.01
SYMBOLS = ["AAPL", "MSFT"]


def independent(daily_dir):
    frames = {s: pd.read_csv(daily_dir / f"{s}.csv", parse_dates=["Date"]) for s in SYMBOLS}
    dates = frames["AAPL"]["Date"]
    assert all((f["Date"] == dates).all() for f in frames.values())  # same calendar: one loop
    o = {s: f["Open"].to_numpy(float) for s, f in frames.items()}
    c = {s: f["Close"].to_numpy(float) for s, f in frames.items()}
    weight = ALLOC / len(SYMBOLS)
    cash, qty = CASH, dict.fromkeys(SYMBOLS, 0)
    pending = []  # (symbol, signed qty) decided at the previous close
    fills = []
    equity = CASH
    for t in range(len(dates)):
        for symbol, q in sorted(pending, key=lambda p: p[1] > 0):  # sells before buys
            price = o[symbol][t] * (1 + SLIP if q > 0 else 1 - SLIP)
            if q > 0 and q * price > cash:
                continue  # rejected at fill
            cash -= q * price
            qty[symbol] += q
            fills.append((dates[t].date(), symbol, "buy" if q > 0 else "sell", abs(q), price))
        pending = []
        equity = cash + sum(qty[s] * c[s][t] for s in SYMBOLS)
        if t + 1 < SLOW:
            continue
        plans = []
        for s in SYMBOLS:
            closes = c[s][: t + 1]
            w = weight if closes[-FAST:].mean() > closes[-SLOW:].mean() else 0.0
            target, current = math.trunc(w * equity / c[s][t]), qty[s]
            delta = target - current
            if delta == 0 or (target and current and abs(delta) <= BAND * abs(target)):
                continue
            plans.append((s, delta))
        plans.sort(key=lambda p: p[1] > 0)  # sells first
        spendable = cash + sum(-d * c[s][t] for s, d in plans if d < 0)
        proceeds = 0.0
        for s, delta in plans:
            current = qty[s]
            if delta > 0:  # buys are cut to what cash (plus the sells' proceeds) pays for
                delta = min(delta, math.floor(spendable * (1 - CASH_BUFFER) / c[s][t]))
                if delta <= 0:
                    continue
                spendable -= delta * c[s][t]
            if abs(current + delta) > abs(current) and abs(current + delta) * c[s][t] > MAX_PCT * equity:
                delta = min(delta, math.floor(MAX_PCT * equity / c[s][t]) - current)  # max position
                if delta <= 0:
                    continue
            if delta < 0:
                proceeds += -delta * c[s][t] * (1 - SLIP)
            elif delta * c[s][t] * (1 + SLIP) > cash + proceeds:
                continue  # rejected at submit
            pending.append((s, delta))
    return fills, equity


def test_sma_cross_trades_and_equity_match_to_the_cent(tmp_path):
    daily = require_shared_data("daily")
    config = write_config(tmp_path, f"[risk]\n{NO_LOSS_LIMITS}")  # the strategy alone, to the cent
    result = run_cli(
        "simulate",
        "--config",
        str(config),
        "--source",
        f"csv:{daily}",
        "--symbols",
        "AAPL,MSFT",
        "--strategy",
        "sma_cross",
        "--json",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1  # exactly one JSON object on stdout
    summary = json.loads(lines[0])
    for key in (
        "bars",
        "orders",
        "fills",
        "final_equity",
        "total_return",
        "buy_and_hold_return",
        "sharpe",
        "max_drawdown",
        "fees",
        "report_dir",
    ):
        assert key in summary

    expected_fills, expected_equity = independent(daily)
    with open(f"{summary['report_dir']}/trades.csv") as handle:
        got = [
            (
                pd.Timestamp(r["ts"]).tz_convert("America/New_York").date(),
                r["symbol"],
                r["side"],
                int(r["qty"]),
                float(r["price"]),
            )
            for r in csv.DictReader(handle)
        ]
    assert len(expected_fills) > 20  # the rules really trade on this data
    assert [f[:4] for f in got] == [f[:4] for f in expected_fills]
    assert np.allclose([f[4] for f in got], [f[4] for f in expected_fills], rtol=0, atol=0.005)
    assert summary["fills"] == len(expected_fills)
    assert abs(summary["final_equity"] - round(expected_equity, 2)) <= 0.01
    assert summary["bars"] == 2 * 2768
    # what is held at the end, at the cost of what is still held (long only here: a sell takes its
    # share of the cost basis with it)
    held: dict[str, list[float]] = {}
    for _, symbol, side, q, price in expected_fills:
        qty, basis = held.get(symbol, [0, 0.0])
        held[symbol] = [qty + q, basis + q * price] if side == "buy" else [qty - q, basis * (qty - q) / qty]
    expected_positions = {s: (q, b / q) for s, (q, b) in held.items() if q}
    assert expected_positions  # sma_cross ends the data holding something
    assert {s: p["qty"] for s, p in summary["positions"].items()} == {
        s: q for s, (q, _) in expected_positions.items()
    }
    for symbol, (_, cost) in expected_positions.items():
        assert abs(summary["positions"][symbol]["avg_cost"] - cost) <= 0.005
