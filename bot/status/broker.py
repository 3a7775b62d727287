"""``status`` reads positions and open orders from Alpaca when it can, quickly.

A status call must answer even when the broker does not: the Alpaca config is shortened (timeout at
most ``MAX_TIMEOUT`` seconds, at most one retry) and the first failure ends the broker read; the
caller then falls back to the journal and shows ``broker_error`` (one line, secrets redacted).
alpaca-py is imported only here, and only when keys are set.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from bot.config import AlpacaConfig, Config, Secrets
from bot.status.view import order_dict, position_dict, with_stops

MAX_TIMEOUT = 5.0
MAX_RETRIES = 1
MAX_BACKOFF = 0.5


def broker_configured(dry_run: bool, secrets: Secrets) -> bool:
    """A dry run never has a broker of its own (SimBroker lives inside the daemon); the paper
    account has one when both Alpaca keys are in the environment."""
    return not dry_run and bool(secrets.alpaca_key and secrets.alpaca_secret)


def quick(alpaca: AlpacaConfig) -> AlpacaConfig:
    """``alpaca`` with a short timeout and at most one retry (status must not hang)."""
    return dataclasses.replace(
        alpaca,
        timeout_seconds=min(alpaca.timeout_seconds, MAX_TIMEOUT),
        max_retries=min(alpaca.max_retries, MAX_RETRIES),
        backoff_seconds=min(alpaca.backoff_seconds, MAX_BACKOFF),
    )


def read_broker(
    config: Config,
    secrets: Secrets,
    *,
    legs: Mapping[str, str] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(positions with stops, open orders) at the broker; raises on any failure. ``legs``: the
    journal's protective legs (``Journal.protective_legs``), so un-nested legs show as ours."""
    from bot.broker.alpaca import AlpacaBroker

    broker = AlpacaBroker(quick(config.alpaca), secrets)
    broker.know_legs(legs or {})
    positions = [position_dict(p.symbol, p.qty, p.avg_price) for p in broker.positions().values()]
    orders = [
        order_dict(
            client_order_id=o.client_order_id,
            symbol=o.symbol,
            side=str(o.request.side),
            qty=o.request.qty,
            type=str(o.request.type),
            status=str(o.status),
            limit_price=o.request.limit_price,
            stop_price=o.request.stop_price,
            protective=o.protective,
        )
        for o in broker.open_orders()
    ]
    return with_stops(sorted(positions, key=lambda p: p["symbol"]), orders), orders


def error_line(exc: BaseException, secrets: Secrets) -> str:
    """One line saying why the broker could not be read, with any secret replaced by ***."""
    from bot.logging import Redactor

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    line = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return Redactor(secrets.values())(line)[:300]


def apply_broker(
    info: dict[str, Any], config: Config, secrets: Secrets, *, legs: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Replace the journal's positions and open orders in ``info`` by the broker's, or keep them
    and set ``broker_error`` when the broker cannot be read."""
    from bot.logging import configure_logging

    # retry warnings must not land on stdout (structlog's default) and spoil `status --json`
    configure_logging(None, level="error")
    try:
        positions, orders = read_broker(config, secrets, legs=legs)
    except Exception as exc:  # noqa: BLE001 - any failure means: show the journal's view, say why
        info["broker_error"] = error_line(exc, secrets)
        return info
    info.update(positions=positions, open_orders=orders, positions_source="broker", broker_error=None)
    return info
