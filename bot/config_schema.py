"""The configuration schema: one frozen dataclass per ``config.toml`` section.

Each field's ``metadata`` holds ``help`` (what the key means: docs/configuration.md is generated
from it, and config.toml lists the same keys), an optional ``check`` (returns an error text or
None) and an optional ``normalize``.
Loading, validation and secrets live in ``bot.config``; import from there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.calendar.timeframes import TIMEFRAMES
from strategies.registry import STRATEGY_NAMES

Check = Callable[[Any], str | None]


def _key(
    default: Any, help: str, check: Check | None = None, normalize: Callable[[Any], Any] | None = None
) -> Any:
    return field(default=default, metadata={"help": help, "check": check, "normalize": normalize})


def _upper_all(value: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip().upper() for v in value)


def _positive(value: float) -> str | None:
    return None if value > 0 else "a number > 0"


def _non_negative(value: float) -> str | None:
    return None if value >= 0 else "a number >= 0"


def _limit(value: float) -> str | None:
    """A limit that is off when its key is absent: 0 would read as "allow nothing", or as a hidden
    "off" that a reader must know about, so it is refused with the way to turn the limit off."""
    return None if value > 0 else "a number > 0 (remove the key to turn it off)"


def _fraction(value: float) -> str | None:
    return None if 0 < value <= 1 else "a number in (0, 1]"


def _one_of(*choices: str) -> Check:
    def check(value: str) -> str | None:
        return None if value in choices else "one of " + ", ".join(repr(c) for c in choices)

    return check


def _source(value: str) -> str | None:
    if value in ("sample", "alpaca") or (value.startswith("csv:") and len(value) > 4):
        return None
    return "'sample', 'alpaca' or 'csv:DIR'"


def _symbols(value: tuple[str, ...]) -> str | None:
    bad = [
        s
        for s in value
        if not s or not s.replace(".", "").replace("-", "").replace("/", "").isalnum() or not s.isascii()
    ]
    if bad:
        return f"ticker symbols of letters, digits, '.', '/' and '-' such as 'AAPL' (bad: {bad!r})"
    duplicates = sorted({s for s in value if value.count(s) > 1})
    return f"each symbol once (repeated: {', '.join(duplicates)})" if duplicates else None


def _seed(value: int) -> str | None:
    return None if 0 <= value < 2**32 else "a whole number from 0 to 4294967295"


def _port(value: int) -> str | None:
    return None if 0 < value < 65536 else "a port number from 1 to 65535"


@dataclass(frozen=True)
class DataConfig:
    source: str = _key("sample", "where bars come from: 'sample', 'alpaca' or 'csv:DIR'", _source)
    symbols: tuple[str, ...] = _key(
        (), "symbols to trade; empty = the source's default", _symbols, _upper_all
    )
    timeframe: str = _key("1Day", "bar timeframe", _one_of(*TIMEFRAMES))
    start: date | None = _key(None, "first date of a replay (YYYY-MM-DD); empty = source default")
    end: date | None = _key(None, "last date of a replay (YYYY-MM-DD); empty = source default")
    extended_hours: bool = _key(False, "keep pre- and post-market intraday bars")


@dataclass(frozen=True)
class SampleConfig:
    seed: int = _key(7, "seed of the synthetic sample market", _seed)


@dataclass(frozen=True)
class BrokerConfig:
    initial_cash: float = _key(100_000.0, "starting cash of a simulation, in dollars", _positive)
    slippage_bps: float = _key(1.0, "adverse slippage on market and stop fills, bps", _non_negative)
    commission_per_share: float = _key(0.0, "commission per share, dollars", _non_negative)
    commission_pct: float = _key(0.0, "commission as a fraction of notional", _non_negative)
    min_commission: float = _key(0.0, "minimum commission per fill, dollars", _non_negative)
    allow_short: bool = _key(False, "allow short positions")


@dataclass(frozen=True)
class SmaCrossConfig:
    fast: int = _key(10, "bars in the fast moving average", _positive)
    slow: int = _key(30, "bars in the slow moving average", _positive)


@dataclass(frozen=True)
class LstmSentimentConfig:
    margin_bps: float = _key(5.0, "edge over the round-trip cost a forecast must show, bps", _non_negative)
    vol_target: float = _key(0.25, "annualised volatility each position is sized to", _positive)
    vol_cap: float = _key(1.0, "largest multiple of its equal share a position may reach", _positive)
    ewma_lambda: float = _key(
        0.94,
        "decay of the EWMA volatility used while the risk head is rejected",
        lambda v: None if 0 < v < 1 else "a number in (0, 1)",
    )
    base: str = _key("long", "holding while the return head has no usable opinion", _one_of("long", "flat"))
    tilt: float = _key(1.5, "multiple of the base weight held on a forecast gain past the hurdle", _positive)


@dataclass(frozen=True)
class StrategyConfig:
    name: str = _key("lstm_sentiment", "strategy to run", _one_of(*STRATEGY_NAMES))
    allocation: float = _key(0.95, "fraction of equity invested, split equally", _fraction)
    rebalance_band: float = _key(
        0.25, "trade only when a position is off its target by more than this fraction", _fraction
    )
    cash_buffer: float = _key(
        0.01, "fraction of buying power a buy leaves unspent (gaps, slippage)", _non_negative
    )
    sma_cross: SmaCrossConfig = field(default_factory=SmaCrossConfig)
    lstm_sentiment: LstmSentimentConfig = field(default_factory=LstmSentimentConfig)


@dataclass(frozen=True)
class RiskConfig:
    max_position_pct: float = _key(0.5, "largest position per symbol, fraction of equity", _fraction)
    max_position_notional: float | None = _key(
        None, "largest position per symbol in dollars; absent = no dollar cap", _limit
    )
    max_gross_exposure_pct: float | None = _key(
        None, "largest sum of |position value| over all symbols, fraction of equity; absent = off", _limit
    )
    max_open_positions: int | None = _key(None, "most symbols held at once; absent = off", _limit)
    min_order_notional: float | None = _key(
        None, "smallest order in dollars (exits exempt); absent = off", _limit
    )
    max_order_notional: float | None = _key(
        None, "largest order in dollars; larger ones are cut; absent = off", _limit
    )
    max_orders_per_minute: int | None = _key(None, "most orders sent per minute; absent = off", _limit)
    max_orders_per_day: int | None = _key(
        None, "most orders sent per New York trading day; absent = off", _limit
    )
    # the limits below are on by default, so absent means the default: 0 is their written "off"
    daily_loss_pct: float = _key(
        0.08, "halt when equity falls this fraction below the previous day's close; 0 = off", _non_negative
    )
    max_drawdown_pct: float = _key(
        0.25, "halt when equity falls this fraction below its peak; 0 = off", _non_negative
    )
    max_stale_bars: int = _key(
        3,
        "no new entries in a symbol whose latest bar is more than this many bar periods old (behind the "
        "market's other symbols; in the daemon also behind the clock during the session, with a warning); "
        "0 = off",
        _non_negative,
    )
    stop_loss_pct: float = _key(
        0.10,
        "protective stop this fraction below each entry's price, held at the broker; 0 = off",
        _non_negative,
    )
    take_profit_pct: float | None = _key(
        None,
        "exit a long whose close is this fraction above its average price (checked by the bot); absent = off",
        _limit,
    )
    trailing_stop_pct: float | None = _key(
        None,
        "exit a long whose close falls this fraction below its highest close since entry (checked by "
        "the bot); absent = off",
        _limit,
    )
    pdt_guard: bool = _key(
        True, "under $25,000 equity, block entries that could make a 4th day trade in 5 business days"
    )
    stop_loss_atr: float | None = _key(
        None, "protective stop this many average true ranges below each entry's price; absent = off", _limit
    )
    atr_window: int = _key(14, "bars in the average true range of stop_loss_atr", _positive)


def _url(value: str) -> str | None:
    return None if value.startswith(("http://", "https://")) else "an http:// or https:// URL"


def _urls(value: tuple[str, ...]) -> str | None:
    bad = [u for u in value if not u.startswith(("http://", "https://"))]
    return f"http:// or https:// URLs (bad: {bad!r})" if bad else None


def _symbol_templates(value: tuple[str, ...]) -> str | None:
    bad = [u for u in value if "{symbol}" not in u or _url(u)]
    return f"URLs containing {{symbol}} (bad: {bad!r})" if bad else None


@dataclass(frozen=True)
class AlpacaConfig:
    trading_url: str = _key("https://paper-api.alpaca.markets", "trading API (paper only)", _url)
    data_url: str = _key("https://data.alpaca.markets", "market data and news API", _url)
    stream_url: str = _key("wss://stream.data.alpaca.markets", "market data websocket")
    stream_bars: bool = _key(
        False,
        "live 1Min bars from the market data websocket; REST polling while it is silent or disconnected",
    )
    trade_updates: bool = _key(
        False,
        "paper: journal fills from the trade-updates websocket as they come; order polling stays the backstop",
    )
    timeout_seconds: float = _key(10.0, "seconds before an Alpaca request is abandoned", _positive)
    max_retries: int = _key(4, "retries of a failed Alpaca request (429, 5xx, timeouts)", _non_negative)
    backoff_seconds: float = _key(0.5, "first retry wait; doubles per retry, with jitter", _positive)
    feed: str = _key("iex", "market data feed: 'iex' (free) or 'sip'", _one_of("iex", "sip"))


def _news_replay(value: str) -> str | None:
    if value in ("sample", "none", "journal"):
        return None
    if (value.startswith("csv:") and len(value) > 4) or (value.startswith("journal:") and len(value) > 8):
        return None
    return "'sample', 'none', 'csv:FILE', 'journal' or 'journal:PATH'"


@dataclass(frozen=True)
class NewsConfig:
    feeds: tuple[str, ...] = _key((), "general market RSS/Atom feed URLs", _urls)
    symbol_feeds: tuple[str, ...] = _key((), "per-symbol feed URL templates with {symbol}", _symbol_templates)
    aliases: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({}),
        metadata={"help": 'company names that mean a symbol, e.g. AAPL = ["Apple"]', "check": None},
    )
    alpaca: bool = _key(False, "also fetch Alpaca's news API (needs keys)")
    timeout_seconds: float = _key(10.0, "seconds before a feed request is abandoned", _positive)
    max_bytes: int = _key(5_000_000, "largest feed body accepted, bytes", _positive)
    max_title_chars: int = _key(300, "longest headline kept, characters (longer ones are cut)", _positive)
    max_items: int = _key(500, "most items read from one feed document (the first ones)", _positive)
    backoff_seconds: float = _key(60.0, "wait after a feed error; doubles per error in a row", _positive)
    max_backoff_seconds: float = _key(3600.0, "longest wait after repeated feed errors", _positive)
    replay: str = _key(
        "sample",
        "headlines replayed in simulations: 'sample', 'none', 'csv:FILE', or "
        "'journal' / 'journal:PATH' (recorded live, known from when first seen)",
        _news_replay,
    )


@dataclass(frozen=True)
class SentimentConfig:
    # defaults tuned by cross-validation on the PhraseBank train split (benchmarks/build_finance_lexicon.py)
    positive_threshold: float = _key(0.3, "score at or above which a text is positive")
    negative_threshold: float = _key(-0.25, "score at or below which a text is negative")
    lookback_hours: float = _key(72.0, "headlines older than this do not count in features", _positive)
    half_life_hours: float = _key(24.0, "half-life of a headline's weight in the decayed mean", _positive)


PRICE_FEATURES = ("ret", "range", "rel_volume")
#: HAR-style inputs of the risk head: logs of the 1-, 5- and 22-bar mean range variance
RISK_FEATURES = ("log_rv", "log_rv_w", "log_rv_m")
SENTIMENT_FEATURES = ("sent_mean", "sent_count", "sent_pos_share", "sent_neg_share", "market_sent")


def _features(value: tuple[str, ...]) -> str | None:
    known = PRICE_FEATURES + RISK_FEATURES + SENTIMENT_FEATURES
    bad = [f for f in value if f not in known]
    if bad or not value:
        return f"a non-empty list of features from {', '.join(known)} (bad: {bad!r})"
    return None


@dataclass(frozen=True)
class ModelConfig:
    features: tuple[str, ...] = _key(
        PRICE_FEATURES + SENTIMENT_FEATURES, "return head's inputs per bar", _features
    )
    risk_features: tuple[str, ...] = _key(
        RISK_FEATURES + PRICE_FEATURES + SENTIMENT_FEATURES, "risk head's inputs per bar", _features
    )
    window: int = _key(20, "bars in one input window", _positive)
    volume_window: int = _key(20, "bars in the causal mean that relative volume divides by", _positive)
    layers: int = _key(1, "stacked LSTM layers", _positive)
    units: int = _key(16, "units per LSTM layer", _positive)
    dropout: float = _key(
        0.1, "dropout between layers, 0..0.9", lambda v: None if 0 <= v < 0.9 else "0 <= x < 0.9"
    )
    learning_rate: float = _key(0.001, "Adam learning rate", _positive)
    epochs: int = _key(30, "most training epochs per fit", _positive)
    batch_size: int = _key(128, "windows per training batch", _positive)
    patience: int = _key(4, "epochs without validation gain before early stopping", _positive)
    validation_fraction: float = _key(
        0.2,
        "end slice of each training window used for early stopping",
        lambda v: None if 0 < v < 0.5 else "a number in (0, 0.5)",
    )
    seed: int = _key(7, "seed of weights, shuffling and dropout", _seed)
    train_bars: int = _key(750, "bars per symbol in a walk-forward training window", _positive)
    test_bars: int = _key(250, "bars tested (and the retraining interval) per fold", _positive)
    expanding: bool = _key(True, "grow the training window (true) or roll it (false)")
    gate_margin: float = _key(
        0.0,
        "out-of-sample MSE improvement over the zero-return forecast a model must show, fraction",
        _non_negative,
    )
    risk_gate_margin: float = _key(
        0.0, "out-of-sample QLIKE improvement over EWMA the risk head must show, fraction", _non_negative
    )
    dir: str = _key("models", "folder of the model registry")


@dataclass(frozen=True)
class JournalConfig:
    path: str = _key("logs/journal.sqlite", "SQLite journal file")
    dry_run_path: str = _key(
        "logs/dry_run.sqlite", "journal of `run --dry-run` (kept apart from the paper account's)"
    )
    batch_size: int = _key(5000, "rows buffered before a journal transaction", _positive)


@dataclass(frozen=True)
class LoggingConfig:
    dir: str = _key("logs", "folder of bot.jsonl")
    level: str = _key("info", "lowest level logged", _one_of("debug", "info", "warning", "error"))
    max_bytes: int = _key(10_000_000, "size at which bot.jsonl is rotated, bytes", _positive)
    backups: int = _key(5, "rotated log files kept", _non_negative)


@dataclass(frozen=True)
class ReportConfig:
    dir: str = _key("logs/reports", "folder where simulation reports are written")


def _clock_time(value: str) -> str | None:
    parts = value.split(":")
    ok = len(parts) == 2 and all(p.isdigit() for p in parts) and int(parts[0]) < 24 and int(parts[1]) < 60
    return None if ok else "a New York time HH:MM"


def _crontab(value: str) -> str | None:
    return (
        None
        if value == "" or len(value.split()) == 5
        else "'' (off) or a 5-field crontab, e.g. '0 6 * * sat'"
    )


@dataclass(frozen=True)
class DaemonConfig:
    heartbeat_seconds: float = _key(15.0, "seconds between heartbeats written to the journal", _positive)
    heartbeat_max_age_seconds: float = _key(
        120.0, "`status --check` fails when the last heartbeat is older than this", _positive
    )
    kill_poll_seconds: float = _key(1.0, "how often the daemon reads the kill switch, seconds", _positive)
    bar_delay_seconds: float = _key(
        5.0, "wait after a bar's close before fetching it (the data API needs a moment)", _non_negative
    )
    news_poll_seconds: float = _key(300.0, "seconds between news polls", _positive)
    reconcile_seconds: float = _key(180.0, "seconds between reconciliations with the broker", _positive)
    max_broker_failures: int = _key(
        5,
        "broker calls failing in a row (after their retries) before the daemon trips the kill switch; 0 = off",
        _non_negative,
    )
    halt_on_model_rejected: bool = _key(
        False,
        "trip the kill switch when the daemon's model is rejected by the gate (else it just stays flat)",
    )
    history_bars: int = _key(
        300, "bars per symbol kept in memory (and fetched at start) for the strategy", _positive
    )
    misfire_grace_seconds: float = _key(
        30.0, "a job that missed its time by less than this still runs", _positive
    )
    shutdown_seconds: float = _key(8.0, "longest wait for the current step on SIGTERM/SIGINT", _positive)
    report_delay_minutes: float = _key(
        20.0, "the daily report runs this many minutes after the session's close", _non_negative
    )
    retrain_cron: str = _key("", "when to retrain the model (New York crontab); '' = never", _crontab)


def _port_or_any(value: int) -> str | None:
    return None if 0 <= value < 65536 else "a port number from 1 to 65535, or 0 for any free port"


@dataclass(frozen=True)
class DashboardConfig:
    enabled: bool = _key(
        False, "the daemon (`run`) also serves the web dashboard (`python -m bot dashboard`)"
    )
    host: str = _key(
        "127.0.0.1",
        "address the dashboard listens on; a non-loopback one needs the token for every read too",
        lambda v: None if v.strip() else "an address such as '127.0.0.1'",
    )
    port: int = _key(8765, "the dashboard's port (0 = any free port, printed at start)", _port_or_any)


@dataclass(frozen=True)
class EmailConfig:
    smtp_host: str = _key(
        "", "SMTP server of the daily report; '' = write .eml and .png to report.dir instead"
    )
    smtp_port: int = _key(587, "SMTP port (587 starttls, 465 ssl, 25 none)", _port)
    security: str = _key("starttls", "'starttls', 'ssl' or 'none'", _one_of("starttls", "ssl", "none"))
    username: str = _key("", "SMTP login ('' = no login); the password comes from SMTP_PASSWORD")
    sender: str = _key("", "From: address of the daily report")
    recipients: tuple[str, ...] = _key((), "To: addresses of the daily report")
    timeout_seconds: float = _key(20.0, "seconds before an SMTP conversation is abandoned", _positive)
    max_attempts: int = _key(3, "send attempts before the report is kept on disk only", _positive)
    retry_seconds: float = _key(30.0, "wait before the first resend; doubles per attempt", _non_negative)


@dataclass(frozen=True)
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    sample: SampleConfig = field(default_factory=SampleConfig)
    broker: BrokerConfig = field(default_factory=BrokerConfig)
    strategy: StrategyConfig = field(default_factory=StrategyConfig)
    risk: RiskConfig = field(default_factory=RiskConfig)
    alpaca: AlpacaConfig = field(default_factory=AlpacaConfig)
    news: NewsConfig = field(default_factory=NewsConfig)
    sentiment: SentimentConfig = field(default_factory=SentimentConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    journal: JournalConfig = field(default_factory=JournalConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    email: EmailConfig = field(default_factory=EmailConfig)
    dashboard: DashboardConfig = field(default_factory=DashboardConfig)
    #: folder that relative paths in the file are resolved against
    base_dir: Path = field(default=Path("."), metadata={"internal": True})

    def resolve(self, path: str) -> Path:
        """A path from the config, relative paths taken from the config file's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.base_dir / p
