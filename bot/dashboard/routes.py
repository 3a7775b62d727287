"""The dashboard's Flask app: its endpoints and the checks in front of them (``guard``).

| endpoint | what | token |
|---|---|---|
| ``GET /`` | the page (no data, no secret) | never |
| ``GET /static/...`` | its script and style, served from this package | never |
| ``GET /api/state`` | everything the page shows, as JSON | off loopback only |
| ``GET /api/equity.svg?span=today|all`` | an equity chart | off loopback only |
| ``GET /reports/NAME`` | a file of ``report.dir`` (figures, CSV, JSON) | off loopback only |
| ``POST /api/kill``, ``POST /api/resume`` | run ``python -m bot kill`` / ``resume`` | always |

Every answer carries a Content-Security-Policy allowing this origin only (nothing loads from the
internet) and ``Cache-Control: no-store``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, jsonify, request, send_from_directory

from bot.config import Config
from bot.dashboard import actions, guard
from bot.dashboard.charts import equity_svg
from bot.dashboard.equity import EquityCache
from bot.dashboard.page import page_html
from bot.dashboard.state import REPORT_SUFFIXES, curve, open_readonly, read_state
from bot.errors import BotError

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


@dataclass(frozen=True)
class Settings:
    """What the app serves: whose journal, guarded by which token, bound where."""

    config: Config
    config_path: Path | None  # passed on to kill/resume
    journal: Path
    journal_key: str
    dry_run: bool
    token: str
    loopback: bool  # bound to loopback: reads need no token
    cwd: Path  # where kill/resume run (a relative default config resolves the same)


def create_app(settings: Settings) -> Flask:
    app = Flask(__name__, static_folder="static", static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024  # a kill's reason, not an upload
    cache = EquityCache()

    @app.before_request
    def _checks() -> Any:
        if not guard.host_allowed(request.headers.get("Host"), settings.loopback):
            return _refuse(403, "this dashboard answers to a loopback host name only")
        if request.method == "POST":
            if not guard.same_origin(
                request.headers.get("Origin"), request.headers.get("Referer"), request.headers.get("Host")
            ):
                return _refuse(403, "cross-origin request refused")
            if not guard.token_given(
                request.headers.get(guard.TOKEN_HEADER), request.form.get("token"), settings.token
            ):
                return _refuse(403, f"the dashboard token is required (header {guard.TOKEN_HEADER})")
        elif _needs_read_token(request.path) and not guard.token_given(
            request.headers.get(guard.TOKEN_HEADER), None, settings.token
        ):
            return _refuse(403, "off loopback, reads need the dashboard token too")
        return None

    def _needs_read_token(path: str) -> bool:
        return not settings.loopback and (path.startswith("/api/") or path.startswith("/reports/"))

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    @app.errorhandler(BotError)
    @app.errorhandler(sqlite3.DatabaseError)
    def _unreadable(exc: Exception) -> Response:  # a damaged or foreign journal: say so, in one line
        return _refuse(503, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)

    @app.get("/")
    def index() -> Response:
        html = page_html(dry_run=settings.dry_run, token_for_reads=not settings.loopback)
        return Response(html, mimetype="text/html")

    @app.get("/api/state")
    def state() -> Response:
        return jsonify(
            read_state(settings.config, settings.journal, settings.journal_key, settings.dry_run, cache)
        )

    @app.get("/api/equity.svg")
    def equity_chart() -> Response:
        span = request.args.get("span", "today")
        if span not in ("today", "all"):
            abort(400, "span: 'today' or 'all'")
        journal = open_readonly(settings.journal, settings.journal_key)
        try:
            drawn = curve(journal, cache, span)
        finally:
            if journal is not None:
                journal.close()
        title = "equity today" if span == "today" else "equity since the start"
        return Response(equity_svg(drawn, title), mimetype="image/svg+xml")

    @app.get("/reports/<path:name>")
    def report_file(name: str) -> Response:
        if not name.endswith(REPORT_SUFFIXES):
            abort(404)
        # send_from_directory refuses any name that leaves the folder (werkzeug's safe_join)
        return send_from_directory(settings.config.resolve(settings.config.report.dir).resolve(), name)

    @app.post("/api/kill")
    def kill() -> Response:
        return _act("kill", "kill from the dashboard")

    @app.post("/api/resume")
    def resume() -> Response:
        return _act("resume", "resume from the dashboard")

    def _act(action: str, default_reason: str) -> Response:
        body = request.get_json(silent=True) or {}
        reason = str(body.get("reason") or request.form.get("reason") or "").strip() or default_reason
        keep = bool(body.get("keep_positions")) or request.form.get("keep_positions") == "1"
        argv = actions.command(
            action,
            config_path=settings.config_path,
            dry_run=settings.dry_run,
            reason=reason,
            keep_positions=keep,
        )
        result = actions.run_action(argv, settings.cwd)
        status = 200 if result.exit_code == 0 else 500
        return _json(
            {"ok": result.exit_code == 0, "exit_code": result.exit_code, "output": result.output}, status
        )

    return app


def _json(payload: dict[str, Any], status: int) -> Response:
    response = jsonify(payload)
    response.status_code = status
    return response


def _refuse(status: int, error: str) -> Response:
    return _json({"ok": False, "error": error}, status)
