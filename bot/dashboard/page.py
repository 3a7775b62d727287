"""The dashboard's one page: an HTML shell with no data in it (``static/dashboard.js`` fills it
from ``/api/state`` and the SVG charts every few seconds) and no secret (the token is typed by
the user into a password field and sent only with a kill or resume)."""

from __future__ import annotations

from html import escape

#: seconds between refreshes
REFRESH_SECONDS = 5


def page_html(*, dry_run: bool, token_for_reads: bool) -> str:
    """The page; ``token_for_reads`` (a non-loopback bind) asks for the token before any read."""
    account = "dry run" if dry_run else "paper account"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bot dashboard ({escape(account)})</title>
<link rel="stylesheet" href="/static/dashboard.css">
<script src="/static/dashboard.js" defer></script>
</head>
<body data-refresh="{REFRESH_SECONDS}" data-token-for-reads="{str(token_for_reads).lower()}">
<header>
  <h1>Trading bot <small>{escape(account)}</small></h1>
  <div id="halt" class="badge">loading…</div>
  <div id="heartbeat" class="muted"></div>
</header>
<section id="controls">
  <label>token <input id="token" type="password" autocomplete="off" size="30"></label>
  <label>reason <input id="reason" type="text" size="24" maxlength="200" placeholder="why (journaled)"></label>
  <button id="kill" class="danger" type="button">Kill: halt and flatten</button>
  <button id="resume" type="button">Resume</button>
  <pre id="action-output" class="muted"></pre>
</section>
<section class="grid">
  <div><h2>Equity today</h2><div id="chart-today" class="chart-box"></div><p id="today-summary"></p></div>
  <div><h2>Equity since the start</h2><div id="chart-all" class="chart-box"></div><p id="all-summary"></p></div>
</section>
<section><h2>Run and models</h2><div id="run"></div></section>
<section><h2>Positions</h2><table id="positions"></table></section>
<section><h2>Open orders</h2><table id="orders"></table></section>
<section><h2>Last decisions</h2><table id="decisions"></table></section>
<section><h2>Latest forecasts</h2><table id="forecasts"></table></section>
<section><h2>Headlines</h2><table id="headlines"></table></section>
<section><h2>Reports</h2><ul id="reports"></ul></section>
<footer class="muted" id="updated"></footer>
</body></html>
"""
