"""Daemon benchmarks (not tests): resident memory after start and after 100,000 replayed bars,
CPU while idle between bars, and the HTTP requests of one live decision cycle for 10 symbols
made by the real daemon loop against the local Alpaca-compatible fakes.

Run: ``.venv/bin/python benchmarks/daemon_bench.py``. Writes benchmarks/daemon_results.md.
Each daemon is a real ``python -m bot run --dry-run`` subprocess; memory is VmRSS from
/proc/PID/status, CPU is utime + stime from /proc/PID/stat.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]
TICKS = os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def bars_done(journal: Path) -> int:
    if not journal.exists():
        return 0
    db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=5)
    try:
        return db.execute("SELECT COUNT(*) FROM bars").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


def start_daemon(folder: Path, *args: str) -> subprocess.Popen:
    config = folder / "config.toml"
    config.write_text(f"""
[journal]
dry_run_path = "{folder / "dry.sqlite"}"
[logging]
dir = "{folder / "logs"}"
[report]
dir = "{folder / "reports"}"
[strategy]
name = "sma_cross"
""")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--dry-run", "--config", str(config), *args],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def memory_run() -> dict:
    """Sample 1Min bars, 5 symbols, replayed as fast as the loop goes: RSS after start, after
    100,000 bars and after 200,000 (the second 100k shows the steady state: the first includes
    one-off growth such as matplotlib's first report and SQLite's page cache)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        proc = start_daemon(
            folder,
            "--source",
            "sample",
            "--timeframe",
            "1Min",
            "--start",
            "2024-06-03",
            "--end",
            "2024-11-29",
            "--speed",
            "100000000",
        )
        journal = folder / "dry.sqlite"
        started = time.monotonic()
        while bars_done(journal) < 1000:
            time.sleep(0.05)
        after_start, start_bars = rss_mib(proc.pid), bars_done(journal)
        marks, peak = {}, after_start
        for target in (100_000, 200_000):
            while (done := bars_done(journal)) < start_bars + target and proc.poll() is None:
                peak = max(peak, rss_mib(proc.pid))
                time.sleep(0.5)
            marks[target] = (done, rss_mib(proc.pid), time.monotonic() - started)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        (b1, r1, _), (b2, r2, seconds) = marks[100_000], marks[200_000]
        return {
            "after_start_mib": after_start,
            "after_100k_mib": r1,
            "after_200k_mib": r2,
            "peak_mib": peak,
            "bars": b2 - start_bars,
            "seconds": seconds,
            "first_100k_mib": r1 - after_start,
            "growth_per_100k_mib": (r2 - r1) * 100_000 / max(b2 - b1, 1),
        }


def idle_run(window: float = 60.0) -> dict:
    """A paced replay with one 1Min bar every 10 s (speed 6): CPU between bars."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        proc = start_daemon(
            folder,
            "--source",
            "sample",
            "--timeframe",
            "1Min",
            "--start",
            "2024-12-02",
            "--end",
            "2024-12-02",
            "--speed",
            "6",
        )
        journal = folder / "dry.sqlite"
        while bars_done(journal) < 5:
            time.sleep(0.05)
        time.sleep(2)
        cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(window)
        cpu1, t1 = cpu_seconds(proc.pid), time.monotonic()
        rss = rss_mib(proc.pid)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
        return {
            "cpu_percent": 100 * (cpu1 - cpu0) / (t1 - t0),
            "window_s": t1 - t0,
            "rss_mib": rss,
            "exit_code": code,
            "bars_per_10s": 5,
        }


def requests_per_live_cycle() -> dict:
    """The real paper loop (``bot.daemon``) for 10 symbols against the fakes: the HTTP requests of
    one cycle that trades (first decision) and of one that does not."""
    import numpy as np
    import pandas as pd

    from bot.config import Secrets, load_config
    from bot.daemon.assemble import assemble
    from bot.journal.store import Journal

    from fakes.alpaca_data import DataFakeServer
    from fakes.alpaca_trading import TradingFakeServer

    key, secret = "bench-key", "bench-secret"
    symbols = [f"S{i:02d}" for i in range(10)]
    trading = TradingFakeServer(key_id=key, secret_key=secret).start()
    data = DataFakeServer(key_id=key, secret_key=secret).start()
    now = pd.Timestamp(datetime.now(UTC)).floor("D") + pd.Timedelta(hours=15)
    while now > pd.Timestamp(datetime.now(UTC)) - pd.Timedelta(hours=2) or now.weekday() >= 5:
        now -= pd.Timedelta(days=1)

    def serve(n: int) -> datetime:
        index = pd.date_range(now, periods=n, freq="1min", tz="UTC", name="ts")
        close = 20 + np.arange(n) * 0.01
        frame = pd.DataFrame(
            {
                "open": close,
                "high": close + 0.05,
                "low": close - 0.05,
                "close": close,
                "volume": np.full(n, 1000.0),
            },
            index=index,
        )
        for symbol in symbols:
            data.load(symbol, "1Min", frame)
            trading.set_price(symbol, float(close[-1]))
        return (now + pd.Timedelta(minutes=n)).to_pydatetime()

    serve(30)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "config.toml").write_text(f"""
[data]
symbols = {json.dumps(symbols)}
timeframe = "1Min"
[strategy]
name = "buy_and_hold"
[alpaca]
trading_url = "{trading.url}"
data_url = "{data.url}"
[logging]
dir = "{folder / "logs"}"
""")
        config = load_config(folder / "config.toml")
        journal = Journal(folder / "journal.sqlite")
        parts = assemble(
            config,
            journal,
            dry_run=False,
            replay_source=None,
            speed=1,
            new_run=False,
            secrets=Secrets(alpaca_key=key, alpaca_secret=secret),
            alert=lambda s, t: None,
        )
        counts = {}
        for label, n in (
            ("cycle that trades (10 buys)", 31),
            ("next cycle (settles the 10 fills)", 32),
            ("steady cycle (nothing open, no order)", 33),
        ):
            before = len(trading.requests) + len(data.requests)
            parts.loop.on_steps(parts.live.poll(serve(n)))
            counts[label] = len(trading.requests) + len(data.requests) - before
        journal.close()
    trading.stop()
    data.stop()
    return counts


def main() -> None:
    from bot.logging import configure_logging

    configure_logging(None, level="error")
    cycle = requests_per_live_cycle()
    idle = idle_run()
    memory = memory_run()
    lines = [
        "# Daemon benchmarks",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.machine()} with {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; `python benchmarks/daemon_bench.py`. Every daemon is a real "
        "`python -m bot run --dry-run` process (sma_cross, sample market, 5 symbols, 1Min bars).",
        "",
        "| measure | value |",
        "|---|---|",
        f"| resident memory after start (1,000 bars in) | {memory['after_start_mib']:.0f} MiB |",
        f"| resident memory after 100,000 more replayed bars | {memory['after_100k_mib']:.0f} MiB "
        f"({memory['first_100k_mib']:+.0f} MiB, one-off: see the steady state below) |",
        f"| resident memory after 200,000 replayed bars | {memory['after_200k_mib']:.0f} MiB "
        f"(peak {memory['peak_mib']:.0f} MiB) |",
        f"| growth per 100,000 bars, steady state (100k -> 200k) | {memory['growth_per_100k_mib']:+.1f} MiB |",
        f"| replay speed of the daemon loop (unpaced) | {memory['bars'] / memory['seconds']:,.0f} bars/s |",
        f"| CPU while idle between bars (one bar per 10 s, {idle['window_s']:.0f} s window) | "
        f"{idle['cpu_percent']:.2f} % of one core |",
        "",
        "HTTP requests of one live decision cycle, 10 symbols, real daemon loop against the local fakes "
        "(Alpaca allows 200 per minute):",
        "",
        "| cycle | requests | one cycle per minute uses |",
        "|---|---|---|",
        *[f"| {label} | {n} | {n / 200:.0%} of the limit |" for label, n in cycle.items()],
        "",
    ]
    out = REPO / "benchmarks" / "daemon_results.md"
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
