import json
import logging
import subprocess
import sys

import structlog

from bot.logging import LOG_FILE_NAME, Redactor, bind_run, clear_run, configure_logging

from testkit import cli_env


def test_redactor_hides_raw_and_json_escaped_secrets():
    redact = Redactor(["PKABCDEF123", 'we"ird\\pw'])
    assert redact("key=PKABCDEF123!") == "key=***!"
    assert redact(json.dumps({"p": 'we"ird\\pw'})) == '{"p": "***"}'
    assert Redactor(["ab"])("abc") == "abc"  # too short to redact safely


def test_json_log_carries_mode_and_run_id_and_never_a_secret(tmp_path, capsys, monkeypatch):
    secret = "SUPERSECRETKEY42"
    monkeypatch.setenv("ALPACA_SECRET_KEY", secret)
    monkeypatch.setenv("SMTP_PASSWORD", "mail-pass-99")
    configure_logging(tmp_path, level="info")
    try:
        bind_run("simulate", "run-1")
        log = structlog.get_logger("test")
        log.info("connected", key=secret, note=f"auth with {secret}")
        logging.getLogger("thirdparty").warning("header Authorization: mail-pass-99")
        try:
            raise RuntimeError(f"bad key {secret}")
        except RuntimeError:
            log.exception("failed")
    finally:
        clear_run()
        logging.getLogger().handlers.clear()
    text = (tmp_path / LOG_FILE_NAME).read_text()
    console = capsys.readouterr().err
    assert secret not in text and "mail-pass-99" not in text
    assert secret not in console and "mail-pass-99" not in console
    events = [json.loads(line) for line in text.splitlines()]
    assert [e["event"] for e in events] == ["connected", "header Authorization: ***", "failed"]
    for event in events[::2]:
        assert event["mode"] == "simulate" and event["run_id"] == "run-1"
    assert events[0]["key"] == "***"


def test_log_file_rotates_by_size(tmp_path):
    configure_logging(tmp_path, level="info", max_bytes=2000, backups=2, console=False)
    try:
        log = structlog.get_logger("test")
        for i in range(200):
            log.info("filler", i=i, pad="x" * 50)
    finally:
        logging.getLogger().handlers.clear()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [LOG_FILE_NAME, f"{LOG_FILE_NAME}.1", f"{LOG_FILE_NAME}.2"]
    assert (tmp_path / LOG_FILE_NAME).stat().st_size <= 2000


def test_a_log_file_that_cannot_be_written_costs_one_console_line_not_a_flood(tmp_path, capsys):
    """``/dev/full`` answers every write with ENOSPC, as a full disk does."""
    (tmp_path / LOG_FILE_NAME).symlink_to("/dev/full")
    configure_logging(tmp_path, level="info", console=False)
    try:
        log = structlog.get_logger("test")
        for i in range(80):
            log.info("step", i=i)
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err and "Logging error" not in err
        assert err.startswith("warning: cannot write the log file") and "No space left on device" in err
        (handler,) = logging.getLogger().handlers
        assert handler.dropped == 80
        handler.stream = (tmp_path / "fresh.jsonl").open("a")  # space again
        log.info("after")
        assert "can be written again; 80 log lines were lost" in capsys.readouterr().err
        assert json.loads((tmp_path / "fresh.jsonl").read_text())["event"] == "after"
    finally:
        logging.getLogger().handlers.clear()


def test_bot_logging_loads_structlog_without_rich_and_rich_stays_importable():
    """structlog would load rich (and pygments, attrs) for tracebacks this bot renders plainly."""
    code = (
        "import sys\n"
        "import bot.logging\n"
        "print('structlog' in sys.modules, 'rich' in sys.modules)\n"
        "import rich.console\n"  # what Keras does later: the block did not outlive the import
        "print(type(sys.modules['rich']).__name__)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=cli_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False", "module"]


def test_console_tracebacks_are_plain_python_ones(tmp_path, capsys):
    configure_logging(tmp_path, level="info")
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            structlog.get_logger("test").exception("failed")
    finally:
        logging.getLogger().handlers.clear()
    err = capsys.readouterr().err
    assert "failed" in err
    assert "Traceback (most recent call last):" in err and "ValueError: boom" in err
    assert "╭" not in err  # no rich box
    (event,) = [json.loads(line) for line in (tmp_path / LOG_FILE_NAME).read_text().splitlines()]
    (exception,) = event["exception"]
    assert exception["exc_type"] == "ValueError" and exception["exc_value"] == "boom"


def test_the_log_file_renders_each_line_once(tmp_path):
    """The rotating handler measures a record before writing it: one rendering serves both."""
    configure_logging(tmp_path, level="info", max_bytes=100_000, console=False)
    try:
        (handler,) = logging.getLogger().handlers
        formatter = handler.formatter
        rendered = []
        original = formatter.format
        formatter.format = lambda record: rendered.append(record) or original(record)
        log = structlog.get_logger("test")
        for i in range(3):
            log.info("step", i=i)
        logging.getLogger("thirdparty").warning("foreign line")
    finally:
        logging.getLogger().handlers.clear()
    assert len(rendered) == 4
    lines = [json.loads(line) for line in (tmp_path / LOG_FILE_NAME).read_text().splitlines()]
    assert [e.get("i") for e in lines] == [0, 1, 2, None]
    assert lines[-1]["event"] == "foreign line"
