"""Typed, frozen configuration loaded from ``config.toml``.

The sections are frozen dataclasses (``bot.config_schema``, re-exported here); each field's
``metadata`` may hold a ``check`` and says in ``help`` what the key means. Unknown sections and keys
are rejected. Every error is a ``ConfigError`` whose one-line message names the file, the key and
what is expected; the CLI turns it into exit code 2.

Secrets never live here: they come from the environment through ``secrets_from_env``.
Importing this module must stay cheap (no pandas, no TensorFlow): light commands load config.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.config_schema import (  # noqa: F401  (re-exported: the public config API)
    PRICE_FEATURES,
    RISK_FEATURES,
    SENTIMENT_FEATURES,
    AlpacaConfig,
    BrokerConfig,
    Config,
    DaemonConfig,
    DashboardConfig,
    DataConfig,
    EmailConfig,
    JournalConfig,
    LoggingConfig,
    LstmSentimentConfig,
    ModelConfig,
    NewsConfig,
    ReportConfig,
    RiskConfig,
    SampleConfig,
    SentimentConfig,
    SmaCrossConfig,
    StrategyConfig,
)
from bot.errors import ConfigError


def _cross_checks(config: Config) -> list[tuple[str, str]]:
    """Rules that involve more than one key: (key, expectation)."""
    problems = []
    sma = config.strategy.sma_cross
    if sma.fast >= sma.slow:
        problems.append(("strategy.sma_cross.fast", f"less than strategy.sma_cross.slow ({sma.slow})"))
    sent = config.sentiment
    if not -1 <= sent.negative_threshold < sent.positive_threshold <= 1:
        problems.append(
            (
                "sentiment.negative_threshold",
                f"-1 <= negative_threshold < positive_threshold ({sent.positive_threshold}) <= 1",
            )
        )
    d = config.data
    if d.start and d.end and d.start > d.end:
        problems.append(("data.end", f"a date on or after data.start ({d.start})"))
    return problems


#: keys that moved (old -> new): an old config gets exit 2 naming the new key, never a silent default
RENAMED = {
    "daemon.stale_after_bars": "risk.max_stale_bars",
    "risk.max_broker_failures": "daemon.max_broker_failures",
    "risk.halt_on_model_rejected": "daemon.halt_on_model_rejected",
}


def load_config(path: str | Path | None) -> Config:
    """Load and validate a config file; ``None`` gives the built-in defaults."""
    if path is None:
        return Config()
    path = Path(path)
    where = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{where}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read config file ({exc.strerror})") from None
    try:
        table = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: malformed TOML: {exc}") from None
    config = _build(Config, table, prefix="", where=where)
    config = dataclasses.replace(config, base_dir=path.resolve().parent)
    for key, expected in _cross_checks(config):
        raise ConfigError(f"{where}: {key}: expected {expected}")
    return config


def override(config: Config, section: str, where: str, **values: Any) -> Config:
    """Replace keys of one section (e.g. from command-line flags), validated like the file.

    ``where`` names the origin in error messages, e.g. ``"command line"``.
    """
    current = getattr(config, section)
    merged = {f.name: getattr(current, f.name) for f in dataclasses.fields(current)}
    for name, value in values.items():
        if value is not None:
            merged[name] = value
    new_section = _build(type(current), merged, prefix=f"{section}.", where=where, converted=True)
    config = dataclasses.replace(config, **{section: new_section})
    for key, expected in _cross_checks(config):
        raise ConfigError(f"{where}: {key}: expected {expected}")
    return config


def _build(cls: type, table: Mapping[str, Any], prefix: str, where: str, converted: bool = False) -> Any:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: {prefix.rstrip('.')}: expected a table, got {table!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    unknown = sorted(set(table) - set(fields))
    moved = [name for name in unknown if prefix + name in RENAMED]
    if moved:
        old = prefix + moved[0]
        raise ConfigError(
            f"{where}: {old}: this key is now {RENAMED[old]} (one key per concept, in its owner's "
            f"section): move it there"
        )
    if unknown:
        known = ", ".join(sorted(fields))
        raise ConfigError(f"{where}: {prefix}{unknown[0]}: unknown key (known keys here: {known})")
    hints = typing.get_type_hints(cls)
    values = {}
    for name, value in table.items():
        key = prefix + name
        kind = hints[name]
        if dataclasses.is_dataclass(kind):
            values[name] = value if converted else _build(kind, value, f"{key}.", where)
            continue
        values[name] = _convert(value, kind, key, where)
        normalize = fields[name].metadata.get("normalize")
        if normalize and values[name] is not None:
            values[name] = normalize(values[name])
        check = fields[name].metadata.get("check")
        problem = check(values[name]) if check and values[name] is not None else None
        if problem:
            raise ConfigError(f"{where}: {key}: expected {problem}, got {value!r}")
    return cls(**values)


def _convert(value: Any, kind: Any, key: str, where: str) -> Any:
    """Coerce a TOML value to the field's type or raise a ConfigError naming the key."""

    def fail(expected: str) -> ConfigError:
        return ConfigError(f"{where}: {key}: expected {expected}, got {value!r}")

    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(kind) if a is not type(None)][0]
        # TOML has no null: an optional key is off when absent; only a date also takes "" (config.toml
        # writes `start = ""`), a number must be a number
        if value is None or (value == "" and inner is date):
            return None
        return _convert(value, inner, key, where)
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise fail("true or false")
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise fail("a whole number")
    if kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(float(value)):  # TOML spells nan and inf; no key means either
                raise fail("a finite number")
            return float(value)
        raise fail("a number")
    if kind is str:
        if isinstance(value, str):
            return value
        raise fail("a string")
    if kind is date:
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise fail("a date YYYY-MM-DD")
    if origin is dict:
        if isinstance(value, Mapping):
            return MappingProxyType(
                {
                    str(k).upper(): _convert(v, typing.get_args(kind)[1], f"{key}.{k}", where)
                    for k, v in value.items()
                }
            )
        raise fail("a table")
    if origin is tuple:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise fail("a list of strings")
    raise TypeError(f"unsupported config type {kind!r} for {key}")  # a bug in this file, not input


def run_record(config: Config, *, daemon: bool = False) -> dict[str, Any]:
    """The config sections journaled with a run (``runs.config``): what decided its trades, plus
    ``[daemon]`` for a daemon's run."""
    sections = ("data", "broker", "strategy", "risk", "sentiment") + (("daemon",) if daemon else ())
    return {name: dataclasses.asdict(getattr(config, name)) for name in sections}


def describe(config_cls: type = Config, prefix: str = "") -> list[tuple[str, Any, str]]:
    """(key, default, help) for every key: used to generate docs/configuration.md and to check config.toml stays complete."""
    rows = []
    for f in dataclasses.fields(config_cls):
        if f.metadata.get("internal"):
            continue
        kind = typing.get_type_hints(config_cls)[f.name]
        if dataclasses.is_dataclass(kind):
            rows.extend(describe(kind, f"{prefix}{f.name}."))
        else:
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            rows.append((prefix + f.name, default, f.metadata.get("help", "")))
    return rows


@dataclass(frozen=True)
class Secrets:
    """Credentials read from the environment; ``repr`` never shows the values."""

    alpaca_key: str | None = field(default=None, repr=False)
    alpaca_secret: str | None = field(default=None, repr=False)
    smtp_password: str | None = field(default=None, repr=False)

    def values(self) -> list[str]:
        return [v for v in (self.alpaca_key, self.alpaca_secret, self.smtp_password) if v]


SECRET_ENV_VARS = (
    "ALPACA_API_KEY",
    "ALPACA_SECRET_KEY",
    "APCA_API_KEY_ID",
    "APCA_API_SECRET_KEY",
    "SMTP_PASSWORD",
)


def secrets_from_env(environ: Mapping[str, str] | None = None) -> Secrets:
    """Alpaca keys (ours or Alpaca's own variable names) and the SMTP password."""
    env = os.environ if environ is None else environ
    return Secrets(
        alpaca_key=env.get("ALPACA_API_KEY") or env.get("APCA_API_KEY_ID") or None,
        alpaca_secret=env.get("ALPACA_SECRET_KEY") or env.get("APCA_API_SECRET_KEY") or None,
        smtp_password=env.get("SMTP_PASSWORD") or None,
    )
