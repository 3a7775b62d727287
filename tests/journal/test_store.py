import sqlite3
from datetime import UTC, datetime

import pytest

from bot.broker.base import Fill, Order, OrderRequest, OrderStatus, Side
from bot.errors import JournalError
from bot.journal.store import MIGRATIONS, SCHEMA_VERSION, Journal, open_journal

T0 = datetime(2024, 1, 2, 21, 0, tzinfo=UTC)


def test_new_journal_is_wal_with_current_schema(tmp_path):
    journal = open_journal(tmp_path / "j.sqlite")
    assert journal.schema_version() == SCHEMA_VERSION
    mode = journal.query("PRAGMA journal_mode")[0][0]
    assert mode == "wal"
    tables = {r[0] for r in journal.query("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {
        "runs",
        "bars",
        "headlines",
        "predictions",
        "decisions",
        "orders",
        "fills",
        "equity",
        "control",
    } <= tables
    journal.close()


def test_migrations_upgrade_an_old_file_in_place(tmp_path, monkeypatch):
    path = tmp_path / "j.sqlite"
    open_journal(path).close()
    # a later version adds a column; the v1 file must be upgraded on open and keep its rows
    monkeypatch.setattr(
        "bot.journal.store.MIGRATIONS", [*MIGRATIONS, "ALTER TABLE runs ADD COLUMN note TEXT"]
    )
    monkeypatch.setattr("bot.journal.store.SCHEMA_VERSION", len(MIGRATIONS) + 1)
    journal = Journal(path)
    assert journal.schema_version() == len(MIGRATIONS) + 1
    assert "note" in {r[1] for r in journal.query("PRAGMA table_info(runs)")}
    journal.close()


def test_a_newer_journal_is_refused(tmp_path):
    path = tmp_path / "j.sqlite"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    db.close()
    with pytest.raises(JournalError, match=r"journal\.path: .* was written by a newer bot"):
        open_journal(path)
    with pytest.raises(JournalError, match="newer bot"):  # read-only opens (status, report) too
        Journal(path, readonly=True)


def test_buffered_rows_reach_disk_in_batches_and_on_close(tmp_path):
    path = tmp_path / "j.sqlite"
    journal = open_journal(path, batch_size=3)
    journal.add_equity("r", T0, 1.0, 2.0, 1.0)
    journal.add_equity("r", T0.replace(day=3), 1.0, 2.0, 1.0)
    other = sqlite3.connect(path)
    assert other.execute("SELECT COUNT(*) FROM equity").fetchone()[0] == 0  # still buffered
    journal.add_equity("r", T0.replace(day=4), 1.0, 2.0, 1.0)  # third row: the batch is written
    assert other.execute("SELECT COUNT(*) FROM equity").fetchone()[0] == 3
    journal.add_equity("r", T0.replace(day=5), 1.0, 2.0, 1.0)
    journal.close()
    assert other.execute("SELECT COUNT(*) FROM equity").fetchone()[0] == 4


def test_a_checkpoint_moves_the_write_ahead_log_into_the_file(tmp_path):
    """After ``checkpoint`` the database file alone (no log beside it) holds every row: what
    ``close`` would otherwise copy there."""
    import shutil

    def rows_in_the_file_alone(name: str) -> int:
        shutil.copy(path, tmp_path / name)  # the main file only, without its -wal
        copy = sqlite3.connect(tmp_path / name)
        if not copy.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'equity'").fetchone()[0]:
            return 0  # even the schema is still in the log
        return copy.execute("SELECT COUNT(*) FROM equity").fetchone()[0]

    path = tmp_path / "j.sqlite"
    journal = open_journal(path, batch_size=1000)
    for day in range(2, 30):
        journal.add_equity("r", T0.replace(day=day), 1.0, 2.0, 1.0)
    journal.flush()
    assert rows_in_the_file_alone("before.sqlite") == 0  # committed, in the log only
    journal.checkpoint()
    assert rows_in_the_file_alone("after.sqlite") == 28
    journal.close()


def test_orders_and_fills_are_durable_at_once(tmp_path):
    path = tmp_path / "j.sqlite"
    journal = open_journal(path, batch_size=1000)
    journal.add_equity("r", T0, 1.0, 2.0, 1.0)  # buffered before the order: must land first
    request = OrderRequest("s-AAPL-1", "AAPL", Side.BUY, 10)
    journal.record_order("r", Order(request, T0, OrderStatus.PENDING))
    other = sqlite3.connect(path)
    assert other.execute("SELECT status FROM orders").fetchone()[0] == "pending"
    assert other.execute("SELECT COUNT(*) FROM equity").fetchone()[0] == 1
    journal.record_order("r", Order(request, T0, OrderStatus.FILLED, filled_qty=10, filled_avg_price=5.0))
    journal.record_fill("r", Fill("s-AAPL-1", "AAPL", Side.BUY, 10, 5.0, 0.1, T0))
    journal.record_fill("r", Fill("s-AAPL-2", "AAPL", Side.SELL, 4, 6.0, 0.1, T0))
    journal.record_fill("r", Fill("s-MSFT-1", "MSFT", Side.BUY, 3, 6.0, 0.1, T0))
    journal.record_fill("r", Fill("s-MSFT-2", "MSFT", Side.SELL, 3, 7.0, 0.1, T0))  # flat: not listed
    rows = other.execute("SELECT status, filled_qty FROM orders").fetchall()
    assert rows == [("filled", 10)]  # updated in place, not duplicated
    positions = journal.positions("r")
    assert [(p.symbol, p.qty, p.avg_buy_price) for p in positions] == [("AAPL", 6, 5.0)]
    journal.close()


def test_a_simulation_batches_orders_and_fills_and_writes_them_all_in_order(tmp_path):
    """``batched_orders`` (a simulation's run): orders and fills wait for the batch like bars, are
    all written when the block ends (an order's updates in the order they happened), and the
    durable contract of the live modes is back after it."""
    path = tmp_path / "j.sqlite"
    journal = open_journal(path, batch_size=1000)
    other = sqlite3.connect(path)
    request = OrderRequest("s-AAPL-1", "AAPL", Side.BUY, 10)
    with journal.batched_orders():
        assert journal.durable_orders is False
        journal.record_order("r", Order(request, T0, OrderStatus.PENDING))
        journal.record_order("r", Order(request, T0, OrderStatus.NEW))
        journal.record_order("r", Order(request, T0, OrderStatus.FILLED, filled_qty=10, filled_avg_price=5.0))
        journal.record_fill("r", Fill("s-AAPL-1", "AAPL", Side.BUY, 10, 5.0, 0.0, T0))
        assert other.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 0  # not yet: batched
        assert other.execute("SELECT COUNT(*) FROM fills").fetchone()[0] == 0
    assert other.execute("SELECT status, filled_qty FROM orders").fetchall() == [("filled", 10)]
    assert other.execute("SELECT qty, price FROM fills").fetchall() == [(10, 5.0)]
    assert journal.durable_orders is True
    journal.record_order("r", Order(OrderRequest("s-AAPL-2", "AAPL", Side.SELL, 10), T0, OrderStatus.PENDING))
    assert other.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 2  # durable again at once
    journal.close()


def test_a_failed_simulation_keeps_its_batched_orders(tmp_path):
    """A run that raises inside the block: what it buffered is written by the next durable write
    (the command marks the run failed) or on close, never dropped."""
    path = tmp_path / "j.sqlite"
    journal = open_journal(path, batch_size=1000)
    with pytest.raises(RuntimeError), journal.batched_orders():
        journal.record_order("r", Order(OrderRequest("s-X-1", "X", Side.BUY, 1), T0, OrderStatus.NEW))
        raise RuntimeError("boom")
    assert journal.durable_orders is True
    journal.close()
    other = sqlite3.connect(path)
    assert other.execute("SELECT client_order_id, status FROM orders").fetchall() == [("s-X-1", "new")]


def test_control_state_round_trips(tmp_path):
    journal = open_journal(tmp_path / "j.sqlite")
    journal.set_control("trading", "halted", by="test", reason="because")
    journal.set_control("trading", "active", by="test2")
    record = journal.control("trading")
    assert (record.value, record.updated_by) == ("active", "test2")
    journal.close()


def test_headlines_are_stored_once_with_score_and_version(tmp_path):
    from bot.news.base import Headline

    journal = open_journal(tmp_path / "j.sqlite")
    h = Headline(
        "rss:http://127.0.0.1/feed",
        "g1",
        "Acme beats estimates!",
        T0,
        T0,
        symbols=("ACME",),
        score=0.6,
        label="positive",
        scorer_version="v1",
    )
    unscored = Headline("rss:http://127.0.0.1/feed", "g2", "Globex: ???", T0, T0, published_estimated=True)
    assert journal.record_headlines([h, unscored]) == 2
    assert journal.record_headlines([h]) == 0  # same source and guid: not stored twice
    rows = journal.headlines_between(None, None)
    assert [(r["guid"], r["score"], r["scorer_version"], r["published_estimated"]) for r in rows] == [
        ("g1", 0.6, "v1", 0),
        ("g2", None, None, 1),
    ]
    assert journal.known_title_keys(["acme beats estimates", "nope"]) == {"acme beats estimates"}
    journal.close()


def test_a_write_the_file_refuses_is_one_journal_error_and_rolls_back(tmp_path):
    journal = open_journal(tmp_path / "j.sqlite")
    journal.set_control("first", "1", by="test")
    journal._db.execute("PRAGMA busy_timeout = 100")  # noqa: SLF001 - not the 10 s a real run waits
    other = sqlite3.connect(tmp_path / "j.sqlite", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(JournalError, match="journal.path: .*j.sqlite locked by another process") as locked:
        journal.set_control("second", "2", by="test")
    assert locked.value.passing  # worth another try at the next step
    other.execute("ROLLBACK")
    journal.set_control("third", "3", by="test")  # no transaction left open by the failure
    assert journal.control("first").value == "1" and journal.control("second") is None
    other.close()
    journal.close()


def test_now_is_spelled_as_isoformat_spells_it() -> None:
    """``spell_utc`` (the whole second's text kept between calls) against ``isoformat`` on random
    instants, each second several times, with and without microseconds; ``now_iso`` reads the
    clock."""
    import random
    from datetime import UTC, datetime, timedelta

    from bot.journal.records import now_iso, spell_utc

    rng = random.Random(3)
    for _ in range(20_000):
        whole = rng.choice([0, 951_782_400, 1_700_000_000, rng.randint(0, 4_102_444_800)])
        for micro in (0, rng.randint(1, 999_999), 999_999):
            expected = datetime.fromtimestamp(whole, UTC).replace(microsecond=micro).isoformat()
            assert spell_utc(whole, micro) == expected
    before = datetime.now(UTC)
    now = datetime.fromisoformat(now_iso())
    assert before <= now + timedelta(microseconds=1) and now <= datetime.now(UTC)


def test_iso_and_order_ids_spell_times_as_isoformat_and_strftime_do() -> None:
    """The field-by-field spellings against the library's: ``iso`` against
    ``astimezone(UTC).isoformat()`` and ``client_order_id`` against ``%Y%m%dT%H%M%SZ``, on random
    times (years 1 to 9999, with and without microseconds, UTC and an offset, pandas' Timestamp
    with nanoseconds)."""
    import random
    from datetime import UTC, datetime, timedelta, timezone

    import pandas as pd

    from bot.engine.engine import client_order_id
    from bot.journal.records import iso

    rng = random.Random(6)
    minus_five = timezone(timedelta(hours=-5))
    for _ in range(30_000):
        t = datetime(1, 1, 2, tzinfo=UTC) + timedelta(microseconds=rng.randint(0, 315_500_000_000_000_000))
        if rng.random() < 0.5:
            t = t.replace(microsecond=0)
        for shown in (t, t.astimezone(minus_five)):
            assert iso(shown) == shown.astimezone(UTC).isoformat(), shown
            assert client_order_id("s", "X", shown) == f"s-X-{shown:%Y%m%dT%H%M%SZ}", shown
    stamp = pd.Timestamp("2021-07-01 13:30:00.123456789", tz="UTC")
    assert iso(stamp) == "2021-07-01T13:30:00.123456789+00:00"
