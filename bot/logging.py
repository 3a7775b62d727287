"""Structured logging: JSON lines to ``logs/bot.jsonl`` (rotated by size), readable console.

Every event carries the mode and the run id (bound with ``bind_run``). Redaction happens on the
*rendered* text of every handler, so no secret value from the environment can be written, whether
it sits in an event field, an exception message or a third-party library's log line.

A log file that cannot be written (a full disk, a folder made read-only) never floods the console:
the first failure prints one line, later lines are dropped and counted, and the next line that
can be written says how many were lost. Logging never stops the bot.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from collections.abc import Iterable
from pathlib import Path


def _import_structlog_without_rich() -> None:
    """Import structlog with rich hidden, when neither is loaded yet.

    structlog imports rich (and through it pygments and attrs) when it can, for its pretty console
    tracebacks and the locals in its JSON tracebacks: a tenth of a second and more of every
    command's start (rich is installed for Keras). This bot renders tracebacks plainly anyway (see
    ``configure_logging``), so structlog is loaded while ``import rich`` fails (a ``None`` entry in
    ``sys.modules``, Python's documented way to block an import); the entry is removed right
    after, so Keras and anyone else still import rich as usual."""
    if "structlog" in sys.modules or "rich" in sys.modules:
        return
    sys.modules["rich"] = None  # type: ignore[assignment]
    try:
        import structlog  # noqa: F401
    finally:
        if sys.modules.get("rich", 0) is None:
            del sys.modules["rich"]


_import_structlog_without_rich()

import structlog  # noqa: E402
from structlog.tracebacks import ExceptionDictTransformer  # noqa: E402

from bot.config import SECRET_ENV_VARS  # noqa: E402

REDACTED = "***"
LOG_FILE_NAME = "bot.jsonl"


class Redactor:
    """Replaces every known secret (raw and JSON-escaped spellings) in a string."""

    def __init__(self, secrets: Iterable[str]) -> None:
        spellings: set[str] = set()
        for secret in secrets:
            if len(secret) < 4:  # too short to redact without mangling ordinary text
                continue
            spellings.add(secret)
            spellings.add(json.dumps(secret)[1:-1])
        # longest first, so a secret that contains another is replaced whole
        self._spellings = sorted(spellings, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for spelling in self._spellings:
            if spelling in text:
                text = text.replace(spelling, REDACTED)
        return text


class _RedactingFormatter(structlog.stdlib.ProcessorFormatter):
    def __init__(self, redactor: Redactor, **kwargs) -> None:
        super().__init__(**kwargs)
        self._redact = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self._redact(super().format(record))


class _QuietFileHandler(logging.handlers.RotatingFileHandler):
    """``RotatingFileHandler`` whose write errors print one line instead of one traceback per
    record (``logging.Handler.handleError``'s default), and that renders each record once: the
    standard handler renders it a first time to measure it for the rollover and a second time to
    write it (two JSON renderings of every log line)."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.dropped = 0
        self._rendered: tuple[logging.LogRecord, str] | None = None

    def format(self, record: logging.LogRecord) -> str:
        """The record's text, rendered once per ``emit`` (the rollover check and the write both
        ask; ``handle`` holds the handler's lock around ``emit``)."""
        if self._rendered is not None and self._rendered[0] is record:
            return self._rendered[1]
        text = super().format(record)
        self._rendered = (record, text)
        return text

    def emit(self, record: logging.LogRecord) -> None:
        dropped = self.dropped
        try:
            super().emit(record)  # calls handleError on failure
        finally:
            self._rendered = None  # neither kept alive nor reused for a later record
        if dropped and self.dropped == dropped:  # written again after a failure
            self.dropped = 0
            _console_line(f"log file {self.baseFilename} can be written again; {dropped} log lines were lost")

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's naming)
        self.dropped += 1
        if self.dropped == 1:
            error = sys.exc_info()[1]
            why = getattr(error, "strerror", None) or error
            _console_line(
                f"warning: cannot write the log file {self.baseFilename} ({why}); log lines are "
                "dropped until it can be written again"
            )


def _console_line(text: str) -> None:
    try:
        print(text, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass  # stderr itself is gone: nothing left to tell


def secrets_in_environment(environ: dict[str, str] | None = None) -> list[str]:
    """Values of the secret environment variables (what redaction must hide)."""
    import os

    env = os.environ if environ is None else environ
    return [env[name] for name in SECRET_ENV_VARS if env.get(name)]


def configure_logging(
    log_dir: Path | None,
    *,
    level: str = "info",
    max_bytes: int = 10_000_000,
    backups: int = 5,
    console: bool = True,
    secrets: Iterable[str] | None = None,
) -> Redactor:
    """Set up structlog and the stdlib root logger once per process; returns the redactor.

    ``log_dir`` None keeps logs off disk (used by light commands that only read).
    The console gets warnings and errors only unless ``level`` is debug, so command output stays
    readable; the file gets everything from ``level`` up.
    """
    redactor = Redactor(secrets_in_environment() if secrets is None else secrets)
    # What the JSON and console lines never show, per the logging HOWTO's "Optimization" table:
    # the caller's file and line (a frame walk per record), thread, process and multiprocessing
    # names. A replay logs hundreds of lines; each cost about 140 us, a third of it these.
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        # a line below the root's level is dropped first, before the processors render anything
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level.upper())

    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        file_handler = _QuietFileHandler(
            log_dir / LOG_FILE_NAME, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
        file_handler.setFormatter(
            _RedactingFormatter(
                redactor,
                foreign_pre_chain=shared,
                processors=[
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    # locals shown with repr(), with or without rich (see _import_structlog_without_rich)
                    structlog.processors.ExceptionRenderer(ExceptionDictTransformer(use_rich=False)),
                    structlog.processors.JSONRenderer(default=str),
                ],
            )
        )
        root.addHandler(file_handler)

    if console:
        console_handler = logging.StreamHandler(sys.stderr)
        console_handler.setLevel("DEBUG" if level == "debug" else "WARNING")
        console_handler.setFormatter(
            _RedactingFormatter(
                redactor,
                foreign_pre_chain=shared,
                processors=[
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    # Python's own traceback layout, whether or not rich was loaded
                    structlog.dev.ConsoleRenderer(
                        colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
                    ),
                ],
            )
        )
        root.addHandler(console_handler)
    # chatty libraries: their warnings still reach us
    for noisy in ("matplotlib", "PIL", "urllib3"):
        logging.getLogger(noisy).setLevel("WARNING")
    return redactor


def bind_run(mode: str, run_id: str) -> None:
    """Attach the mode and run id to every event logged from now on in this context."""
    structlog.contextvars.bind_contextvars(mode=mode, run_id=run_id)


def clear_run() -> None:
    structlog.contextvars.clear_contextvars()
