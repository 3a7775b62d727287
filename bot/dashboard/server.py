"""Serving the dashboard: werkzeug's threaded WSGI server (Flask's own), in the foreground for
``python -m bot dashboard`` or on a daemon thread inside ``python -m bot run``.

The token is made (or read) before the port is bound; a non-loopback host with no token file
yet refuses to start (``ConfigError``, exit 2): the token is then never first shown by a
process listening to the network. A port already taken is ``OSError`` for the caller.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

from werkzeug.serving import BaseWSGIServer, make_server

from bot.commands.common import journal_key, journal_path
from bot.config import Config
from bot.dashboard import token as tokens
from bot.dashboard.guard import is_loopback
from bot.dashboard.routes import Settings, create_app
from bot.errors import ConfigError


@dataclass(frozen=True)
class Prepared:
    """Settings ready to serve, and the token when it was created now (to print once)."""

    settings: Settings
    new_token: str | None
    token_file: Path


def prepare(config: Config, *, config_path: str | None, dry_run: bool, host: str) -> Prepared:
    """Find the journal, make or read its token, and check the host may be served."""
    path = journal_path(config, dry_run)
    token_file = tokens.token_path(path)
    loopback = is_loopback(host)
    if not loopback and tokens.read_token(token_file) is None:
        raise ConfigError(
            f"dashboard: --host {host} is not loopback and there is no token yet ({token_file}): "
            "start it once on 127.0.0.1 to make one"
        )
    token, created = tokens.load_or_create(token_file)
    settings = Settings(
        config=config,
        config_path=None if config_path is None else Path(config_path).resolve(),
        journal=path,
        journal_key=journal_key(dry_run),
        dry_run=dry_run,
        token=token,
        loopback=loopback,
        cwd=Path(os.getcwd()),
    )
    return Prepared(settings, token if created else None, token_file)


def bind(prepared: Prepared, host: str, port: int) -> BaseWSGIServer:
    """The server bound (port 0: any free port); ``server.port`` says which."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    # bound here, then handed over: werkzeug itself answers a taken port with sys.exit(1) and a
    # paragraph, where the command wants one line and exit 2 and the daemon wants to go on
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        # werkzeug takes a duplicate of the descriptor (socket.fromfd); this one closes here
        return make_server(host, port, create_app(prepared.settings), threaded=True, fd=sock.fileno())


def url(server: BaseWSGIServer, host: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{server.port}/"


def token_lines(prepared: Prepared) -> list[str]:
    """What is printed at start: the token once (when it was made now), else where it is."""
    if prepared.new_token is not None:
        return [
            f"dashboard token (shown once; kept in {prepared.token_file}, mode 0600): {prepared.new_token}"
        ]
    return [f"dashboard token: in {prepared.token_file}"]


def serve_in_thread(server: BaseWSGIServer) -> threading.Thread:
    """Serve on a daemon thread (it ends with the process); returns the thread."""
    thread = threading.Thread(target=server.serve_forever, name="dashboard", daemon=True)
    thread.start()
    return thread


def start_for_daemon(config: Config, *, config_path: str | None, dry_run: bool) -> BaseWSGIServer | None:
    """``[dashboard] enabled``: serve beside the daemon on its own thread. Any failure (a port
    taken, a non-loopback host without a token, an unreadable token file) is one warning in the
    log and None: the dashboard is a window on the bot, never a reason for it to stop trading."""
    import structlog

    log = structlog.get_logger(__name__)
    host, port = config.dashboard.host, config.dashboard.port
    try:
        prepared = prepare(config, config_path=config_path, dry_run=dry_run, host=host)
        server = bind(prepared, host, port)
    except (OSError, ConfigError) as exc:
        log.warning("dashboard_not_started", host=host, port=port, error=str(exc))
        return None
    for line in token_lines(prepared):
        print(line, flush=True)  # the token on the console once, never in the log file
    serve_in_thread(server)
    log.info("dashboard_started", url=url(server, host))
    return server
