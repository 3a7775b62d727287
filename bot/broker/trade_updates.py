"""Fills from Alpaca's trade-updates websocket (alpaca-py ``TradingStream``), paper account only.

Threads: the client runs on a daemon thread ("trade-updates") and only queues ``fill`` and
``partial_fill`` events. The journal is single-writer per connection, so the events are applied
on the trading thread: ``BrokerVenue.on_bars`` calls ``apply(journal, run_id)`` at the start of
each step, which journals them through reconciliation's ``record_order_and_fill`` (the order row
and the fill quantity the journal has not seen, at the order's average price).

Never twice: an event adds only ``order.filled_qty - journal.filled_qty(run_id, cid)`` shares,
the same guard order polling uses, so whichever of the two sees a fill first journals it and the
other finds nothing new. An event older than what polling already journaled is ignored (it must
not turn a filled order back into a partly filled one). Events for orders the journal does not
know (a protective leg: Alpaca gives legs their own ids; an order placed outside the bot) are
left to polling and reconciliation, which find legs through their entry and adopt the rest.
A dead or refused stream changes nothing but latency: order polling remains the backstop.
"""

from __future__ import annotations

import queue
import threading
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import structlog

from bot.broker.alpaca import map_order
from bot.broker.alpaca_http import check_paper_url
from bot.broker.reconcile import Report, keep_journal_facts, record_order_and_fill
from bot.config import AlpacaConfig, Secrets
from bot.data.alpaca_stream import run_client, stop_client
from bot.journal.store import Journal

log = structlog.get_logger(__name__)

FILL_EVENTS = ("fill", "partial_fill")


def trade_stream_url(trading_url: str) -> str:
    """``https://paper-api.alpaca.markets`` -> ``wss://paper-api.alpaca.markets/stream`` (http -> ws)."""
    parts = urlsplit(trading_url)
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/stream", "", ""))


class TradeUpdates:
    """The trade-updates stream and its queue of fill events (see the module docstring)."""

    def __init__(self, *, url: str, key: str, secret: str) -> None:
        from alpaca.trading.stream import TradingStream

        self.url = url
        self._client = TradingStream(key, secret, paper=True, url_override=url)
        self._client.subscribe_trade_updates(self._on_update)
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.received = 0
        self.applied = 0

    @classmethod
    def from_config(cls, config: AlpacaConfig, secrets: Secrets) -> TradeUpdates:
        check_paper_url(config.trading_url)  # the stream follows the trading URL: paper only, like the broker
        return cls(
            url=trade_stream_url(config.trading_url),
            key=secrets.alpaca_key or "",
            secret=secrets.alpaca_secret or "",
        )

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="trade-updates", daemon=True)
        self._thread.start()
        log.info("trade_updates_started", url=self.url)

    def _run(self) -> None:
        run_client(self._client, "trade_updates")

    async def _on_update(self, update: Any) -> None:
        event = str(getattr(update.event, "value", update.event))
        if event in FILL_EVENTS:
            self._queue.put(update)
            self.received += 1

    @property
    def connected(self) -> bool:
        # read-only look at alpaca-py's flag (True after auth + listen): it has no callback
        alive = self._thread is not None and self._thread.is_alive()
        return alive and bool(getattr(self._client, "_running", False))

    def pending(self) -> int:
        return self._queue.qsize()

    def apply(self, journal: Journal, run_id: str) -> int:
        """On the trading thread: journal the queued fill events; returns the fills journaled."""
        report = Report()
        while True:
            try:
                update = self._queue.get_nowait()
            except queue.Empty:
                break
            try:
                self._apply_one(journal, run_id, update, report)
            except Exception as exc:  # noqa: BLE001 - a malformed event must not stop the step: polling catches up
                log.warning("trade_update_skipped", error=f"{type(exc).__name__}: {exc}")
        self.applied += report.fills
        return report.fills

    def _apply_one(self, journal: Journal, run_id: str, update: Any, report: Report) -> None:
        order = map_order(update.order)
        cid = order.client_order_id
        record = journal.order(cid)
        if record is None or record.run_id != run_id:
            log.debug(
                "trade_update_unknown_order", client_order_id=cid, note="left to polling/reconciliation"
            )
            return
        if order.filled_qty <= journal.filled_qty(run_id, cid):
            return  # polling got there first (or the event is older than what is journaled)
        keep_journal_facts(order, record)
        before = report.fills
        # the execution's own time (polling, which lacks it, uses "now")
        ts = update.timestamp if update.timestamp.tzinfo else datetime.now(UTC)
        record_order_and_fill(journal, run_id, order, ts, report)
        if report.fills != before:
            log.info(
                "trade_update_fill",
                client_order_id=cid,
                symbol=order.symbol,
                filled_qty=order.filled_qty,
                avg_price=order.filled_avg_price,
                status=str(order.status),
            )

    def stop(self, timeout: float = 2.0) -> bool:
        """Stop the client and wait up to ``timeout`` s for its thread; True if it ended."""
        return stop_client(self._client, self._thread, timeout, "trade_updates")
