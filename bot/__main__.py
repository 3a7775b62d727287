"""Command line: ``python -m bot COMMAND ...`` (parse -> load config -> build -> run -> close).

Heavy modules (pandas, matplotlib, TensorFlow) are imported inside the commands that need them,
so ``--help`` and ``status`` start fast.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from collections.abc import Sequence

from bot import __version__
from bot.errors import BotError
from strategies.registry import STRATEGY_NAMES

DESCRIPTION = """\
Machine-learning paper-trading bot for Alpaca (paper account only).
Simulations run on the bundled SYNTHETIC sample market by default: results on it mean nothing
about real markets."""


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=None,
        help="config file (default: ./config.toml when present, else built-in defaults)",
    )


def _add_dry_run(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help=f"{what} the dry run's journal (journal.dry_run_path) instead of the paper account's",
    )


def _add_bar_flags(parser: argparse.ArgumentParser, source_help: str) -> None:
    """The flags that choose the bars: --source, --symbols, --start, --end, --timeframe."""
    parser.add_argument("--source", help=source_help)
    parser.add_argument("--symbols", help="comma-separated symbols, e.g. AAPL,MSFT")
    parser.add_argument("--start", help="first date, YYYY-MM-DD (New York)")
    parser.add_argument("--end", help="last date, YYYY-MM-DD (New York)")
    parser.add_argument("--timeframe", help="1Day, 1Hour, 15Min, 5Min or 1Min")


def _add_data_flags(parser: argparse.ArgumentParser) -> None:
    """--config and the flags that choose the bars and headlines (simulate, train, evaluate)."""
    _add_config(parser)
    _add_bar_flags(parser, "'sample' (synthetic, the default), 'alpaca' or 'csv:DIR'")
    parser.add_argument(
        "--news",
        metavar="SOURCE",
        help="headlines: 'sample', 'none', 'csv:FILE', or 'journal' / 'journal:PATH' (recorded "
        "live, each known from when the bot first saw it) (overrides news.replay)",
    )


# command -> (module, function); imported only when that command runs, so light commands stay light
COMMANDS = {
    "simulate": ("simulate", "run"),
    "sentiment": ("sentiment", "run"),
    "news": ("news", "run"),
    "train": ("train", "run"),
    "evaluate": ("evaluate", "run"),
    "status": ("status", "run"),
    "kill": ("control", "kill"),
    "resume": ("control", "resume"),
    "run": ("run", "run"),
    "report": ("report", "run"),
    "order": ("order", "run"),
    "probe-alpaca": ("probe_alpaca", "run"),
    "dashboard": ("dashboard", "run"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    sim = commands.add_parser(
        "simulate",
        help="replay history through the strategy with a simulated broker",
        description="Replay history through the engine (strategy -> risk gate -> "
        "simulated broker) and write a report folder with metrics.json, trades.csv, "
        "equity.csv and pnl.png.",
    )
    _add_data_flags(sim)
    sim.add_argument("--strategy", help=", ".join(STRATEGY_NAMES))
    sim.add_argument("--out", metavar="DIR", help="report folder (default: [report] dir/sim-RUN_ID)")
    sim.add_argument("--json", action="store_true", help="print one JSON object instead of the table")

    sentiment = commands.add_parser(
        "sentiment",
        help="score the sentiment of headlines",
        description="Print each text's sentiment score in [-1, 1] and its label.",
    )
    _add_config(sentiment)
    sentiment.add_argument("texts", nargs="*", metavar="TEXT", help="headlines to score")
    sentiment.add_argument("--file", metavar="CSV", help="score a column of a CSV file")
    sentiment.add_argument("--column", metavar="NAME", help="the column of --file (default: title)")
    sentiment.add_argument("--json", action="store_true", help="one JSON object per line: text, score, label")

    news = commands.add_parser(
        "news",
        help="fetch the configured news feeds and print new headlines",
        description="Fetch the RSS/Atom feeds of [news] (and Alpaca news when enabled), "
        "store every headline in the journal and print the new ones with their symbols "
        "and scores.",
    )
    _add_config(news)
    news.add_argument("--once", action="store_true", help="fetch once and exit (the default today)")
    news.add_argument("--json", action="store_true", help="one JSON object per line")

    for name, text in (
        (
            "train",
            "train the LSTM, evaluate it walk-forward, activate it only if it beats the zero-return forecast",
        ),
        ("evaluate", "walk-forward evaluation of the LSTM against naive baselines"),
    ):
        p = commands.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        _add_data_flags(p)
        p.add_argument("--json", action="store_true", help="print one JSON object")
        if name == "train":
            p.add_argument(
                "--force", action="store_true", help="activate the model even if it fails the gate (loudly)"
            )
        else:
            p.add_argument(
                "--ablation", action="store_true", help="also evaluate price-only features on the same folds"
            )

    run = commands.add_parser(
        "run",
        help="the daemon: trade the Alpaca paper account (or a dry run) on a schedule",
        description="Run the bot unattended: APScheduler jobs (New York time) fetch bars at "
        "each bar close during the session, poll news, decide, reconcile with the broker, "
        "write a heartbeat and send the daily report after the close. SIGTERM/SIGINT stop "
        "it cleanly; a lock file keeps a second daemon off the same journal.",
    )
    _add_config(run)
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="fills by the simulated broker, journal in journal.dry_run_path (no orders reach Alpaca)",
    )
    _add_bar_flags(
        run,
        "dry run only: replay 'sample' or 'csv:DIR' (or 'alpaca' history) paced by --speed "
        "instead of live Alpaca bars",
    )
    run.add_argument(
        "--speed", type=float, metavar="N", help="replay N times faster than real time (default 60)"
    )
    run.add_argument("--strategy", help=", ".join(STRATEGY_NAMES))
    run.add_argument(
        "--new-run",
        action="store_true",
        help="start a fresh run instead of resuming the journal's unfinished one",
    )

    report = commands.add_parser(
        "report",
        help="the daily PnL report (figure + email) for one trading day",
        description="Build the daily report from the journal: a figure (equity vs "
        "buy-and-hold, daily PnL, drawdown, the day's trades and positions) and an "
        "email. Without --send, or without [email] smtp_host, the .eml and .png are "
        "written to report.dir.",
    )
    _add_config(report)
    _add_dry_run(report, "report from")
    report.add_argument(
        "--date", metavar="YYYY-MM-DD", help="New York trading day (default: the last one journaled)"
    )
    report.add_argument("--send", action="store_true", help="email it through [email] (retried)")

    status = commands.add_parser(
        "status", help="halt state, heartbeat, positions, orders and PnL from the journal"
    )
    _add_config(status)
    _add_dry_run(status, "read")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when the daemon's heartbeat is older than daemon.heartbeat_max_age_seconds "
        "(or missing), 0 otherwise: for cron or systemd",
    )

    kill = commands.add_parser(
        "kill",
        help="halt trading (durable) and flatten at the broker",
        description="Record HALTED in the journal (who, why, when); then, when Alpaca "
        "keys are set in the environment, cancel every open order and close every "
        "position at the broker. The bot stays halted until `resume`.",
    )
    _add_config(kill)
    _add_dry_run(kill, "halt")
    kill.add_argument("--keep-positions", action="store_true", help="cancel open orders but keep positions")
    kill.add_argument("--reason", metavar="TEXT", help="why (kept in the journal)")
    order = commands.add_parser(
        "order",
        help="send one order by hand through the risk gate (paper account)",
        description="Judge one order with the risk gate and, when it passes, journal it "
        "and send it to the Alpaca paper account (keys from the environment). Exit "
        "codes: 0 accepted; 4 refused by the gate or the broker (the reason on one "
        "line); 2 bad input.",
    )
    _add_config(order)
    order.add_argument("side", choices=("buy", "sell"))
    order.add_argument("symbol", help="e.g. AAPL")
    order.add_argument("qty", type=int, help="whole shares")
    order.add_argument(
        "--stop", type=float, metavar="PRICE", help="a buy's protective stop, held at the broker (GTC)"
    )
    order.add_argument(
        "--dry-run", action="store_true", help="print the risk gate's verdict only; send nothing"
    )
    order.add_argument("--reason", metavar="TEXT", help="why (kept in the journal)")
    probe = commands.add_parser(
        "probe-alpaca",
        help="check on the paper account what the tests' Alpaca fake assumes",
        description="Place and cancel tiny orders (client_order_id probe-...) on the Alpaca "
        "paper account to check the behaviours the local fake assumes, print them next to "
        "its assumptions and clean up. Opt-in: paper keys, the paper URL and --yes; "
        "without --yes it prints its plan and sends nothing. Exit codes: 0 it ran and "
        "cleaned up; 2 bad input; 1 something was left behind (named).",
    )
    _add_config(probe)
    probe.add_argument(
        "--symbol",
        default="F",
        help="a cheap liquid stock the account neither holds nor has orders in (default F)",
    )
    probe.add_argument(
        "--wait",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="longest wait for a fill or a cancel (default 10)",
    )
    probe.add_argument(
        "--yes", action="store_true", help="really place the orders (else: print the plan only)"
    )
    probe.add_argument("--json", action="store_true", help="print one JSON object")
    dashboard = commands.add_parser(
        "dashboard",
        help="the local web dashboard: status, equity, positions, decisions, kill and resume",
        description="Serve one page that refreshes itself from the journal (it works whether "
        "or not the daemon runs): heartbeat and halt state, equity against buy and hold, "
        "positions with stops, open orders, decisions with the risk gate's reasons, forecasts, "
        "headlines and reports, with kill and resume buttons that run `kill` / `resume`. "
        "Kill and resume need the token printed at the first start (kept beside the journal).",
    )
    _add_config(dashboard)
    _add_dry_run(dashboard, "show")
    dashboard.add_argument("--host", help="address to listen on (default: dashboard.host, 127.0.0.1)")
    dashboard.add_argument("--port", type=int, help="port (default: dashboard.port, 8765; 0 = any free)")
    resume = commands.add_parser(
        "resume",
        help="clear the kill switch",
        description="Record in the journal that trading may go on again.",
    )
    _add_config(resume)
    _add_dry_run(resume, "resume")
    resume.add_argument("--reason", metavar="TEXT", help="why (kept in the journal)")
    return parser


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush of a closed pipe cannot fail
    again (Python's documented recipe for SIGPIPE-free exits)."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # The bot's NumPy work is on small arrays, where OpenBLAS's thread pool only costs: starting
    # it is ~70 ms of every command's NumPy import on this machine's 2 cores, and its threads
    # would compete with TensorFlow's and the plot worker's. Set before anything imports NumPy;
    # a value in the environment wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        from importlib import import_module

        module, function = COMMANDS[args.command]
        return getattr(import_module(f"bot.commands.{module}"), function)(args)
    except BotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except sqlite3.DatabaseError as exc:  # damage found after the journal opened (e.g. a truncated page)
        print(
            f"error: the journal is damaged or unreadable ({exc}); see journal.path "
            "(or journal.dry_run_path): move the file aside to start a new one",
            file=sys.stderr,
        )
        return 2
    except BrokenPipeError:  # `status | head -1`: the reader left; nothing is wrong, end quietly
        _silence_stdout()
        return 0
    except Exception as exc:  # a bug, not bad input: keep the traceback in the log, one line here
        import logging
        import traceback

        root = logging.getLogger()
        if root.handlers:
            # the console handler shows warnings and up; the file gets the traceback as JSON
            root.error("unexpected_error", exc_info=True)
        else:
            traceback.print_exc()
        print(f"unexpected error: {type(exc).__name__}: {exc} (please report it)", file=sys.stderr)
        return 1


#: one-shot commands whose process ends as soon as ``main`` returns: logs and output are flushed
#: and the interpreter's teardown is skipped (after a simulation it frees every bar, order and
#: frame one by one, a few tenths of a second of nothing); their files and journal are closed by then
FAST_EXIT_COMMANDS = frozenset({"simulate"})


def exit_process(code: int, argv: Sequence[str]) -> None:
    """End the process with ``code``: at once for ``FAST_EXIT_COMMANDS`` (``argv[0]`` is the
    command), through the normal interpreter exit otherwise."""
    if not argv or argv[0] not in FAST_EXIT_COMMANDS:
        sys.exit(code)
    import logging
    import os

    logging.shutdown()  # what the interpreter's exit would do for the log file: flush and close it
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that left, a closed stream: nothing left to tell
            pass
    os._exit(code)


if __name__ == "__main__":
    exit_process(main(), sys.argv[1:])
