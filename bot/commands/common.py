"""What every command does first: find and load the config, make a run id, set up logging."""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Config, load_config, override
from bot.errors import ConfigError

DEFAULT_CONFIG = Path("config.toml")


def load(path: str | None) -> Config:
    """The config named on the command line, else ./config.toml if present, else the defaults."""
    if path is not None:
        return load_config(path)
    return load_config(DEFAULT_CONFIG) if DEFAULT_CONFIG.is_file() else Config()


def apply_data_flags(config: Config, args: argparse.Namespace) -> Config:
    """The --source/--symbols/--start/--end/--timeframe/--news flags over the config file,
    validated like the file (errors name "command line"). An empty ``--symbols`` is an error: it
    would otherwise silently mean "every symbol of the source"."""
    if args.symbols is not None and not [s for s in str(args.symbols).split(",") if s.strip()]:
        raise ConfigError(f"command line: data.symbols: expected at least one symbol, got {args.symbols!r}")
    config = override(
        config,
        "data",
        "command line",
        source=args.source,
        symbols=args.symbols,
        start=args.start,
        end=args.end,
        timeframe=args.timeframe,
    )
    return override(config, "news", "command line", replay=args.news)


def journal_key(dry_run: bool = False) -> str:
    """The config key of the journal a command addresses (named in its errors)."""
    return "journal.dry_run_path" if dry_run else "journal.path"


def journal_path(config: Config, dry_run: bool = False) -> Path:
    """The journal a command addresses: the dry run's (``--dry-run``) or the paper account's."""
    return config.resolve(config.journal.dry_run_path if dry_run else config.journal.path)


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


#: path keys a command may write to: a file's folder, or a folder itself
_FILE_KEYS = ("journal.path", "journal.dry_run_path")


def require_writable(config: Config, keys: tuple[str, ...]) -> None:
    """Exit 2 naming the key (``ConfigError``) unless every path ``keys`` name can be written:
    its folder exists or can be made, takes a new file, and an existing journal file is writable.
    Checked at start-up, before anything is written or logged."""
    for key in keys:
        section, _, name = key.partition(".")
        path = config.resolve(getattr(getattr(config, section), name))
        folder = path.parent if key in _FILE_KEYS else path
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
            if key in _FILE_KEYS and path.exists() and not os.access(path, os.W_OK):
                raise PermissionError(13, "the file is read-only")
        except OSError as exc:
            raise ConfigError(f"{key}: cannot write to {path} ({exc.strerror or exc})") from None


def start_logging(
    config: Config, mode: str, run_id: str, *, to_file: bool = True, writable: tuple[str, ...] = ()
) -> None:
    """Check the paths the command will write (``writable`` keys, plus ``logging.dir`` when
    logging to a file), then configure logging for this run."""
    from bot.logging import bind_run, configure_logging

    require_writable(config, (("logging.dir",) if to_file else ()) + tuple(writable))
    log = config.logging
    configure_logging(
        config.resolve(log.dir) if to_file else None,
        level=log.level,
        max_bytes=log.max_bytes,
        backups=log.backups,
    )
    bind_run(mode, run_id)
