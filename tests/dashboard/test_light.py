"""The dashboard process stays light: serving the page and its data imports no TensorFlow (nor
pandas or matplotlib), checked in a fresh interpreter like ``status`` is in tests/cli."""

from __future__ import annotations

import subprocess
import sys

from dashkit import REPO
from testkit import HEAVY_MODULES, write_config

SERVE_AND_FETCH = """
import sys, urllib.request
from bot.commands.common import load
from bot.dashboard import server
config = load({config!r})
prepared = server.prepare(config, config_path={config!r}, dry_run=False, host="127.0.0.1")
httpd = server.bind(prepared, "127.0.0.1", 0)
server.serve_in_thread(httpd)
base = server.url(httpd, "127.0.0.1")
for path in ("", "static/dashboard.js", "api/state", "api/equity.svg?span=today", "api/equity.svg?span=all"):
    with urllib.request.urlopen(base + path, timeout=30) as answer:
        assert answer.status == 200, path
print("HEAVY=" + ",".join(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def test_serving_the_page_imports_no_tensorflow_pandas_or_matplotlib(tmp_path):
    from dashkit import build_journal

    config = write_config(tmp_path)
    build_journal(tmp_path / "journal.sqlite")
    code = SERVE_AND_FETCH.format(config=str(config), heavy=HEAVY_MODULES)
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    marker = [line for line in done.stdout.splitlines() if line.startswith("HEAVY=")]
    assert marker, done.stdout + done.stderr
    assert marker[-1] == "HEAVY=", marker[-1]
