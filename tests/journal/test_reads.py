"""The journal's typed reads (``bot.journal.reads``): each method on a small journal written through
the Journal API, bounds at their edges, and the typed rows they return."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from bot.broker.base import Fill, Order, OrderRequest, OrderStatus, OrderType, Side
from bot.journal.records import ControlRecord, EquityPoint, FillRecord, OrderRecord, PositionRecord, RunRecord
from bot.journal.store import Journal, iso, open_journal

T0 = datetime(2024, 3, 11, 14, 30, tzinfo=UTC)


def _run(journal: Journal, run_id: str, mode: str, symbols: list[str] | None = None) -> None:
    journal.start_run(
        run_id,
        mode,
        source="sample",
        synthetic=mode == "simulate",
        strategy="sma_cross",
        symbols=symbols if symbols is not None else ["AAPL", "MSFT"],
        timeframe="1Min",
        config={"model": None},
    )


@pytest.fixture
def journal(tmp_path):
    """Runs paper-0, sim-0 and paper-1 (started in that order), equity rows at T0 + k minutes."""
    j = open_journal(tmp_path / "j.sqlite")
    for run_id, mode in (("paper-0", "paper"), ("sim-0", "simulate"), ("paper-1", "paper")):
        _run(j, run_id, mode)
    for k, (run_id, equity) in enumerate(
        [("paper-0", 100.0), ("paper-0", 130.0), ("sim-0", 999.0), ("paper-1", 120.0), ("paper-1", 110.0)]
    ):
        j.add_equity(run_id, T0 + timedelta(minutes=k), equity - 50.0, equity, 50.0)
    j.flush()
    try:
        yield j
    finally:
        j.close()


def _minutes(points: list[EquityPoint]) -> list[int]:
    return [int((p.ts - T0).total_seconds() // 60) for p in points]


def test_runs_are_typed_and_their_times_give_back_the_stored_text(journal):
    run = journal.run("paper-1")
    assert isinstance(run, RunRecord) and run.mode == "paper" and run.symbols == ("AAPL", "MSFT")
    assert run.status == "running" and run.ended_at is None and run.synthetic is False
    stored = journal.query("SELECT started_at FROM runs WHERE run_id = 'paper-1'")[0][0]
    assert run.started_at.tzinfo is not None and iso(run.started_at) == stored
    assert journal.run("nope") is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.status = "stopped"  # type: ignore[misc]

    journal.end_run("paper-1", "stopped", {"report_dir": "r"})
    ended = journal.run("paper-1")
    assert ended.status == "stopped" and ended.ended_at is not None and '"report_dir"' in ended.summary


def test_latest_run_of_any_mode_or_of_one(journal):
    assert journal.latest_run().run_id == "paper-1"
    assert journal.latest_run("simulate").run_id == "sim-0"
    assert journal.latest_run("dry-run") is None
    _run(journal, "flat-0", "paper", symbols=[])
    assert journal.latest_run("paper").symbols == ()


def test_latest_run_with_equity_prefers_the_given_modes(journal):
    day = (T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert journal.latest_run_with_equity(*day).run_id == "paper-1"  # started last
    assert journal.latest_run_with_equity(*day, prefer_modes=("simulate",)).run_id == "sim-0"
    only_sim = (T0 + timedelta(minutes=2), T0 + timedelta(minutes=3))  # [start, end): sim-0's row alone
    assert journal.latest_run_with_equity(*only_sim, prefer_modes=("paper",)).run_id == "sim-0"
    assert journal.latest_run_with_equity(T0 - timedelta(days=2), T0 - timedelta(days=1)) is None


def test_equity_between_is_half_open_and_scoped(journal):
    assert _minutes(journal.equity_between(run_id="paper-0")) == [0, 1]
    assert _minutes(journal.equity_between(mode="paper")) == [0, 1, 3, 4]  # one account across restarts
    assert _minutes(
        journal.equity_between(T0 + timedelta(minutes=1), T0 + timedelta(minutes=4), mode="paper")
    ) == [1, 3]
    point = journal.equity_between(run_id="paper-1")[0]
    assert point == EquityPoint("paper-1", T0 + timedelta(minutes=3), 70.0, 120.0, 50.0)
    assert journal.has_equity_between(T0, T0 + timedelta(minutes=1), run_id="paper-0")
    assert not journal.has_equity_between(T0, T0 + timedelta(minutes=3), run_id="paper-1")
    with pytest.raises(ValueError, match="exactly one of run_id and mode"):
        journal.equity_between()
    with pytest.raises(ValueError, match="exactly one"):
        journal.equity_at(T0, run_id="paper-0", mode="paper")


def test_equity_before_at_since_and_peak(journal):
    t3 = T0 + timedelta(minutes=3)
    assert journal.last_equity_before(t3, mode="paper").equity == 130.0  # ts < t3
    assert journal.last_equity_before(t3, run_id="paper-1") is None
    assert journal.equity_at(t3, mode="paper").equity == 120.0  # ts <= t3
    assert journal.equity_at(T0 - timedelta(seconds=1), mode="paper") is None
    assert journal.first_equity_since(T0 + timedelta(minutes=2), until=t3, mode="paper").equity == 120.0
    assert journal.first_equity_since(T0 + timedelta(minutes=2), until=t3, run_id="sim-0").equity == 999.0
    assert journal.first_equity_since(t3, until=t3, run_id="paper-1").ts == t3  # both ends included
    assert journal.peak_equity(t3, mode="paper") == 130.0
    assert journal.peak_equity(T0, mode="paper") is None


def test_equity_range_of_a_span(journal):
    span = journal.equity_range(T0, T0 + timedelta(hours=1), mode="paper")
    assert (span.first.equity, span.last.equity, span.high) == (100.0, 110.0, 130.0)
    span = journal.equity_range(T0 + timedelta(minutes=3), T0 + timedelta(minutes=4), run_id="paper-1")
    assert span.first == span.last and span.high == 120.0
    assert journal.equity_range(T0 + timedelta(minutes=5), T0 + timedelta(hours=1), run_id="paper-1") is None


def test_last_equity_time_of_a_run_of_modes_or_of_any(journal):
    assert journal.last_equity_time(run_id="paper-0") == T0 + timedelta(minutes=1)
    assert journal.last_equity_time(modes=("simulate",)) == T0 + timedelta(minutes=2)
    assert journal.last_equity_time(modes=("dry-run",)) is None
    assert journal.last_equity_time() == T0 + timedelta(minutes=4)
    assert journal.last_equity_time(run_id="nope") is None


def _decision(journal: Journal, ts: datetime, verdict: str, cid: str | None) -> None:
    journal.add_decision(
        "paper-1",
        ts,
        strategy="sma_cross",
        symbol="AAPL",
        target_weight=0.5,
        current_qty=0,
        requested_qty=1,
        approved_qty=1,
        verdict=verdict,
        rule=None,
        reason=None,
        client_order_id=cid,
    )


def test_halt_count_and_the_times_of_sent_orders(journal):
    _decision(journal, T0 + timedelta(minutes=2), "reduce", "c-2")
    _decision(journal, T0, "allow", "c-1")
    _decision(journal, T0 + timedelta(minutes=1), "allow", None)  # no order: not counted
    _decision(journal, T0 + timedelta(minutes=3), "deny", "c-3")
    _decision(journal, T0 + timedelta(minutes=4), "halt", None)
    _decision(journal, T0 + timedelta(minutes=9), "halt", None)
    journal.flush()
    assert journal.sent_order_times("paper-1") == [T0, T0 + timedelta(minutes=2)]
    assert journal.sent_order_times("paper-0") == []
    assert journal.halt_count("paper-1", T0, T0 + timedelta(minutes=9)) == 1  # end excluded
    assert journal.halt_count("paper-1", T0, T0 + timedelta(minutes=10)) == 2


def test_fills_and_orders_are_typed_and_in_journal_order(journal):
    journal.record_fill("paper-1", Fill("b", "AAPL", Side.SELL, 4, 11.0, 0.5, T0 + timedelta(minutes=5)))
    journal.record_fill("paper-1", Fill("a", "AAPL", Side.BUY, 10, 10.0, 1.0, T0))
    journal.record_fill("paper-0", Fill("x", "MSFT", Side.BUY, 1, 1.0, 0.0, T0))
    fills = journal.fills("paper-1")
    assert [f.client_order_id for f in fills] == ["a", "b"]
    assert fills[0] == FillRecord(fills[0].id, "paper-1", "a", T0, "AAPL", "buy", 10, 10.0, 1.0)
    assert [f.client_order_id for f in journal.fills("paper-1", before=T0 + timedelta(minutes=5))] == ["a"]

    entry = OrderRequest("e-1", "AAPL", Side.BUY, 10, OrderType.LIMIT, limit_price=10.5, protective_stop=9.0)
    journal.record_order(
        "paper-1", Order(entry, T0, OrderStatus.FILLED, filled_qty=10, filled_avg_price=10.0)
    )
    stop = OrderRequest("e-1-stop", "AAPL", Side.SELL, 10, OrderType.STOP, stop_price=9.0)
    journal.record_order("paper-1", Order(stop, T0, OrderStatus.NEW, protective=True, broker_order_id="B-7"))
    orders = journal.orders("paper-1")
    assert [o.client_order_id for o in orders] == ["e-1", "e-1-stop"]
    first = orders[0]
    assert isinstance(first, OrderRecord) and first.type == "limit" and first.limit_price == 10.5
    assert first.protective_stop == 9.0 and first.filled_qty == 10 and first.protective is False
    assert first.created_at.tzinfo is not None and first.broker_order_id in (None, "")
    assert [o.client_order_id for o in journal.orders("paper-1", ["new", "pending"])] == ["e-1-stop"]
    assert journal.orders("paper-1", [OrderStatus.NEW])[0].broker_order_id == "B-7"
    assert journal.orders("paper-0") == []


def test_control_value(journal):
    assert journal.control_value("trading") is None
    journal.set_control("trading", "halted", by="test", reason="drill")
    assert journal.control_value("trading") == "halted"


def test_bar_reads(journal):
    def row(ts: datetime, close: float) -> tuple:
        return (iso(ts), close, close, close, close, 1.0)

    journal.add_bars("sample", "AAPL", "1Min", [row(T0, 10.0), row(T0 + timedelta(minutes=1), 11.0)])
    journal.add_bars("sample", "AAPL", "1Day", [row(T0 + timedelta(days=1), 99.0)])  # another timeframe
    journal.add_bars("other", "MSFT", "1Min", [row(T0, 5.0)])  # another source
    journal.flush()
    assert (
        journal.last_close_before("sample", "AAPL", "1Min", T0 + timedelta(minutes=1)) == 10.0
    )  # started before
    assert journal.last_close_before("sample", "AAPL", "1Min", T0 + timedelta(hours=1)) == 11.0
    assert journal.last_close_before("sample", "AAPL", "1Min", T0) is None
    assert journal.last_bar_times("sample", "1Min", ["AAPL", "MSFT"]) == {
        "AAPL": iso(T0 + timedelta(minutes=1))
    }
    assert journal.last_bar_times("sample", "1Min", []) == {}


def test_reads_see_committed_rows_only(tmp_path):
    with open_journal(tmp_path / "j.sqlite", batch_size=100) as journal:
        _run(journal, "r", "paper")
        journal.add_equity("r", T0, 1.0, 2.0, 1.0)
        assert journal.equity_between(run_id="r") == []  # still buffered
        journal.flush()
        assert _minutes(journal.equity_between(run_id="r")) == [0]


def test_a_read_only_journal_reads_the_same(journal, tmp_path):
    with Journal(tmp_path / "j.sqlite", readonly=True) as ro:
        assert ro.latest_run() == journal.latest_run()
        assert ro.equity_between(mode="paper") == journal.equity_between(mode="paper")


def test_control_record_says_who_when_and_why(journal):
    assert journal.control("trading") is None
    journal.set_control("trading", "halted", by="pid 7", reason="drill")
    record = journal.control("trading")
    assert isinstance(record, ControlRecord) and dataclasses.is_dataclass(record)
    assert (record.key, record.value, record.updated_by, record.reason) == (
        "trading",
        "halted",
        "pid 7",
        "drill",
    )
    assert record.updated_at.tzinfo is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.value = "active"  # type: ignore[misc]


def test_latest_equity_of_a_run_or_a_mode(journal):
    assert journal.latest_equity(run_id="paper-0").equity == 130.0
    assert journal.latest_equity(mode="paper").equity == 110.0
    assert journal.latest_equity(mode="dry-run") is None
    with pytest.raises(ValueError):
        journal.latest_equity()


def test_positions_are_typed_net_of_sales_and_flat_symbols_left_out(journal):
    for fill in (
        Fill("a", "AAPL", Side.BUY, 10, 10.0, 0.0, T0),
        Fill("b", "AAPL", Side.BUY, 10, 12.0, 0.0, T0),
        Fill("c", "AAPL", Side.SELL, 5, 13.0, 0.0, T0),
        Fill("d", "MSFT", Side.BUY, 3, 5.0, 0.0, T0),
        Fill("e", "MSFT", Side.SELL, 3, 6.0, 0.0, T0),
        Fill("f", "TSLA", Side.SELL, 2, 9.0, 0.0, T0),
    ):
        journal.record_fill("paper-1", fill)
    assert journal.positions("paper-1") == [
        PositionRecord("AAPL", 15, 11.0),
        PositionRecord("TSLA", -2, None),  # only sold: no buy price
    ]
    assert journal.positions("paper-0") == []


def test_order_by_id_in_any_run(journal):
    assert journal.order("nope") is None
    request = OrderRequest("o-1", "MSFT", Side.BUY, 2)
    journal.record_order("paper-0", Order(request, T0, OrderStatus.NEW, reason="why"))
    record = journal.order("o-1")
    assert isinstance(record, OrderRecord) and (record.run_id, record.status, record.reason) == (
        "paper-0",
        "new",
        "why",
    )
