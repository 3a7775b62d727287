"""Dashboard benchmark: resident memory and per-endpoint latency of the real dashboard process
on a journal holding a year of minute bars.

Run: ``.venv/bin/python benchmarks/dashboard_bench.py [--requests N] [--days D]`` (or
``benchmarks/run_all.py --dashboard``). Writes benchmarks/dashboard_results.md.

The journal is written with the journal's own write API (``tests/dashboard/dashkit.py``): 252
sessions x 390 one-minute bars x 3 symbols, an equity row per minute, a decision and two
forecasts per symbol every 15 minutes, a headline a day, an open position with its protective
stop. The dashboard is started as ``python -m bot dashboard`` (a real process); each endpoint is
asked N times in turn over HTTP on 127.0.0.1 (a fresh connection each, as a browser's poll may);
the latency is the client's wall time. Targets: p99 < 50 ms, resident memory < 100 MiB.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from machine_info import cpu_model

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "tests" / "dashboard")]

from dashkit import build_journal, start_dashboard, stop_dashboard  # noqa: E402
from testkit import write_config  # noqa: E402

ENDPOINTS = (
    "",
    "static/dashboard.js",
    "api/state",
    "api/equity.svg?span=today",
    "api/equity.svg?span=all",
    "reports/daily-2025-12-30.png",
)


def machine() -> str:
    model = cpu_model()
    return f"{platform.node()}: {model}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def rss_mib(pid: int) -> tuple[float, float]:
    """(resident now, peak resident) of a process, MiB (Linux /proc)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def fetch_ms(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as answer:
        answer.read()
        assert answer.status == 200, url
    return (time.perf_counter() - started) * 1000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300, help="requests per endpoint")
    parser.add_argument("--days", type=int, default=252, help="sessions of minute bars")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = write_config(folder)
        started = time.perf_counter()
        build_journal(
            folder / "journal.sqlite",
            days=args.days,
            minutes=390,
            symbols=("AAPL", "MSFT", "SPY"),
            decision_every=15,
        )
        build_seconds = time.perf_counter() - started
        size_mib = (folder / "journal.sqlite").stat().st_size / 2**20
        (folder / "reports").mkdir()
        (folder / "reports" / "daily-2025-12-30.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 60_000)
        proc, url, _ = start_dashboard(config, cwd=REPO)
        try:
            rss_start, _ = rss_mib(proc.pid)
            cold = {path: fetch_ms(url + path) for path in ENDPOINTS}  # first answers (cold cache)
            rows = []
            for path in ENDPOINTS:
                times = [fetch_ms(url + path) for _ in range(args.requests)]
                rows.append(
                    f"| `/{path}` | {cold[path]:.1f} | {statistics.median(times):.1f} | "
                    f"{percentile(times, 0.99):.1f} | {max(times):.1f} |"
                )
            rss_end, rss_peak = rss_mib(proc.pid)
        finally:
            stop_dashboard(proc)
    lines = [
        "# Dashboard benchmark",
        "",
        f"Machine: {machine()}. `python benchmarks/dashboard_bench.py --requests {args.requests} "
        f"--days {args.days}`, the machine shared with other work while it ran.",
        "",
        f"Journal: {args.days} sessions x 390 one-minute bars x 3 symbols ({args.days * 390 * 3:,} bars, "
        f"{args.days * 390:,} equity rows, {args.days * 26 * 3:,} decisions, {args.days * 26 * 6:,} "
        f"forecasts), {size_mib:.0f} MiB, written in {build_seconds:.0f} s through the journal's API.",
        "",
        f"Resident memory of the dashboard process: {rss_start:.1f} MiB after start, {rss_end:.1f} MiB "
        f"after {args.requests * len(ENDPOINTS):,} requests (peak {rss_peak:.1f} MiB); target < 100 MiB.",
        "",
        f"Latency per endpoint, client wall time in ms over {args.requests} requests (after one cold "
        "request: the first since-the-start chart reads every day once, later ones re-read only the "
        "last day); target p99 < 50 ms:",
        "",
        "| endpoint | cold | p50 | p99 | max |",
        "|---|---|---|---|---|",
        *rows,
    ]
    text = "\n".join(lines)
    print(text)
    (REPO / "benchmarks" / "dashboard_results.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
