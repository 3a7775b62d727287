"""Scheduled retraining: after ``train`` changes the registry, the running daemon swaps in the
registry's choice on the trading thread, without a restart, and its predictions come from it; a
choice whose files are damaged halts entries with one log line instead of failing every step."""

from __future__ import annotations

import json
from pathlib import Path

from structlog.testing import capture_logs

from bot.config import Secrets, load_config
from bot.daemon.assemble import assemble
from bot.daemon.schedule import DaemonSchedule
from bot.forecast.registry import active_model_id, config_key
from bot.journal.store import Journal

from daemonkit import KEY_ENV
from testkit import run_cli, write_config

TINY_MODEL = """
[strategy]
name = "lstm_sentiment"
[model]
units = 2
epochs = 1
window = 5
volume_window = 5
train_bars = 150
test_bars = 100
"""


def test_a_retrained_model_is_reloaded_by_the_running_daemon(tmp_path: Path):
    path = write_config(
        tmp_path,
        f"""
[data]
start = "2023-01-03"
end = "2023-02-28"
{TINY_MODEL}
dir = "{tmp_path / "models"}"
""",
    )
    config = load_config(path)
    journal = Journal(tmp_path / "dry_run.sqlite")
    parts = assemble(
        config,
        journal,
        dry_run=True,
        replay_source="sample",
        speed=1e9,
        new_run=False,
        secrets=Secrets(),
        alert=lambda s, t: None,
    )
    first = parts.model["model_id"]  # trained on the fly before the replay (sample market only)

    # what the retrain job's child process does, forced active so the swap is visible either way
    trained = run_cli(
        "train",
        "--config",
        str(path),
        "--start",
        "2021-01-04",
        "--end",
        "2022-12-30",
        "--force",
        "--json",
        env=KEY_ENV,
        timeout=300,
    )
    assert trained.returncode == 0, trained.stderr[-2000:]
    new_id = json.loads(trained.stdout.strip().splitlines()[-1])["model_id"]
    key = config_key(
        "1Day", config.model.features, config.model.window, config.model.volume_window, parts.symbols
    )
    assert new_id != first and active_model_id(tmp_path / "models", key) == new_id

    schedule = DaemonSchedule(
        config, parts, journal.path, report=lambda day: None, on_replay_end=lambda: None
    )
    schedule.reload_model()
    assert parts.model["model_id"] == new_id and parts.model["model_status"] == "active"
    assert parts.loop.engine.forecaster.model_id == new_id
    parts.loop.on_steps(parts.replay.due())
    for step in parts.replay._steps[1:12]:
        parts.loop.on_steps([step])
    models = {row[0] for row in journal.query("SELECT DISTINCT model FROM predictions")}
    assert models == {new_id}

    # the next retrain leaves a damaged meta.json: entries halt, one error line, the loop goes on
    meta = tmp_path / "models" / new_id / "meta.json"
    meta.write_text(meta.read_text().replace('"window": 5', '"window": "five"'))
    predictions = journal.query("SELECT COUNT(*) FROM predictions")[0][0]
    with capture_logs() as logs:
        schedule.reload_model()
        for step in parts.replay._steps[12:20]:
            parts.loop.on_steps([step])
    failed = [e for e in logs if e["event"] == "model_unusable_entries_halted"]
    assert len(failed) == 1 and "meta.json" in failed[0]["reason"], failed
    assert not [e for e in logs if e["event"] == "job_failed" or e.get("exc_info")]
    assert parts.loop.engine.entries_halted and parts.loop.engine.forecaster is None
    assert journal.query("SELECT COUNT(*) FROM predictions")[0][0] == predictions  # no model, no predictions
    journal.close()
