"""``python -m bot dashboard [--dry-run] [--host 127.0.0.1] [--port 8765]``: the local web
dashboard (``bot.dashboard``) in the foreground until Ctrl-C or SIGTERM.

Reads the journal, so it works whether or not the daemon runs. Light: Flask and the standard
library; never TensorFlow, pandas or matplotlib.
"""

from __future__ import annotations

import argparse
import signal
import sys

from bot.commands.common import load
from bot.config import override


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops it as Ctrl-C does: the server closes its socket


def run(args: argparse.Namespace) -> int:
    config = load(args.config)
    config = override(config, "dashboard", "command line", host=args.host, port=args.port)
    from bot.dashboard import server as dashboard

    host, port = config.dashboard.host, config.dashboard.port
    prepared = dashboard.prepare(config, config_path=args.config, dry_run=args.dry_run, host=host)
    try:
        httpd = dashboard.bind(prepared, host, port)
    except OSError as exc:
        print(f"error: dashboard: cannot listen on {host}:{port} ({exc.strerror or exc})", file=sys.stderr)
        return 2
    for line in dashboard.token_lines(prepared):
        print(line)
    print(f"dashboard: {dashboard.url(httpd, host)} (journal {prepared.settings.journal}); Ctrl-C stops it")
    sys.stdout.flush()
    signal.signal(signal.SIGTERM, _stop)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    return 0
