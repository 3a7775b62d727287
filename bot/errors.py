"""Exceptions that tell the caller what to do next.

- ``ConfigError`` / ``DataError``: the user gave something we cannot use; the CLI prints one line
  and exits with code 2 (never a traceback).
- ``TemporaryError``: a venue or feed hiccup; retry with backoff.
- ``ModelError`` / ``JournalError``: a model or journal that cannot be used (see each).

A refused order is not an exception: brokers return it with status ``rejected`` and a reason
(``bot.broker.base``); what must halt trading trips the kill switch (``risk.killswitch``).
"""


class BotError(Exception):
    """Base of every error the bot raises on purpose."""

    exit_code = 1


class ConfigError(BotError):
    """A bad configuration value: the message names the file, the key and what is expected."""

    exit_code = 2


class DataError(BotError):
    """Input data that cannot be used: the message names the file (and row when it applies)."""

    exit_code = 2


class TemporaryError(BotError):
    """A transient failure (timeout, 5xx, dropped connection): retry with backoff."""


class ModelError(BotError):
    """A model artifact that cannot be used (missing, corrupt, or trained for another config)."""

    exit_code = 2


class JournalError(BotError):
    """A journal file that cannot be used (not SQLite, damaged, empty, newer schema, locked too
    long, a full disk): the message names the config key and the file. ``passing`` marks a cause
    that may clear by itself (another process's lock), worth another try at the next step."""

    exit_code = 2

    def __init__(self, message: str, *, passing: bool = False) -> None:
        super().__init__(message)
        self.passing = passing


class AlreadyRunning(BotError):
    """Another daemon holds the journal's lock file."""

    exit_code = 3
