"""Whole runs on tiny hand-made CSV markets: a stop held at the broker through a gap down, and a
daily-loss halt that ends the run flat and keeps the next run halted until ``resume``."""

from bot.broker.base import Side
from bot.commands.common import new_run_id
from bot.config import load_config
from bot.data.sources import make_feed
from bot.engine.simulation import run_simulation
from bot.journal.store import open_journal
from risk.killswitch import KillSwitch

from testkit import NO_LOSS_LIMITS, write_config

# Daily bars (date, open, high, low, close): flat, flat, a gap down from 100 to 80, then 82.
BARS = [
    ("2024-01-02", 100, 100, 100, 100),
    ("2024-01-03", 100, 101, 99, 100),
    ("2024-01-04", 80, 82, 79, 81),
    ("2024-01-05", 82, 82, 82, 82),
]


def _config(tmp_path, risk: str, bars: list[tuple] = BARS):
    """A one-symbol CSV market of ``bars`` traded by buy and hold with half the cash."""
    data = tmp_path / "csv"
    data.mkdir(exist_ok=True)
    rows = "".join(f"{d},{o},{h},{low},{c},1000\n" for d, o, h, low, c in bars)
    (data / "X.csv").write_text("date,open,high,low,close,volume\n" + rows)
    # each test isolates one rule: the protections on by default are off unless it sets them
    off = "".join(line + "\n" for line in NO_LOSS_LIMITS.splitlines() if line.split(" =")[0] not in risk)
    extra = f"""
[data]
source = "csv:{data}"
symbols = ["X"]
[broker]
initial_cash = 10000.0
slippage_bps = 0.0
[strategy]
name = "buy_and_hold"
allocation = 0.5
[news]
replay = "none"
[risk]
max_position_pct = 1.0
{risk}
{off}
"""
    return load_config(write_config(tmp_path, extra))


def _simulate(config):
    journal = open_journal(config.resolve(config.journal.path))
    try:
        return run_simulation(config, make_feed(config, journal), journal, new_run_id(), progress=False)
    finally:
        journal.close()


def test_a_stop_held_at_the_broker_closes_a_gap_down_at_the_open(tmp_path):
    # 50 sh bought at the Jan 3 open (100) with a stop at 100 x (1 - 0.10) = 90; Jan 4 opens at 80,
    # below the stop, so the stop fills at the gapped open: loss 50 x (100 - 80) = 1,000.
    result = _simulate(_config(tmp_path, "stop_loss_pct = 0.10\n"))
    buy, stop = result.fills[0], result.fills[1]
    assert (buy.side, buy.qty, buy.price) == (Side.BUY, 50, 100.0)
    assert (stop.side, stop.qty, stop.price) == (Side.SELL, 50, 80.0)
    assert stop.ts.date().isoformat() == "2024-01-04"
    assert result.equity["equity"].iloc[2] == 10_000.0 - 1_000.0


def test_a_daily_loss_ends_flat_and_halted_until_resume(tmp_path):
    # Jan 4 closes at 81: equity 5,000 + 50 x 81 = 9,050, 9.5% below Jan 3's close of 10,000,
    # past the 5% limit: the switch trips and the position is closed at the Jan 5 open (82).
    config = _config(tmp_path, "daily_loss_pct = 0.05")
    first = _simulate(config)
    sells = [f for f in first.fills if f.side is Side.SELL]
    assert [(f.qty, f.price) for f in sells] == [(50, 82.0)]
    assert first.equity["equity"].iloc[-1] == 5_000.0 + 50 * 82.0
    assert first.equity["cash"].iloc[-1] == first.equity["equity"].iloc[-1]  # flat
    assert first.halted and "9.50% below the day's start 10,000.00" in first.halt_reason

    # the trip halted that replay only: the journal's switch (the paper bot's) is untouched, and
    # the next simulation on the same journal trades from the start and trips again by itself
    with open_journal(config.resolve(config.journal.path)) as journal:
        assert not KillSwitch(journal).halted
        halts = journal.query(
            "SELECT rule FROM decisions WHERE run_id = ? AND verdict = 'halt'", (first.run_id,)
        )
        assert [row["rule"] for row in halts] == ["daily_loss"]
    second = _simulate(config)
    assert second.halted and [(f.side, f.qty, f.price) for f in second.fills] == [
        (Side.BUY, 50, 100.0),
        (Side.SELL, 50, 82.0),
    ]


def test_a_halted_replay_decides_nothing_more_as_the_daemon(tmp_path):
    """After the trip a replay asks no strategy and journals no decision (the daemon's
    ``Trader._decide`` does the same): buy and hold would want back in every day, and used to be
    denied and journaled at every step. The equity goes on being recorded each step."""
    later = [(f"2024-01-{d:02d}", 82, 83, 81, 82) for d in (8, 9, 10, 11)]
    config = _config(tmp_path, "daily_loss_pct = 0.05", BARS + later)
    for quiet in (True, False):
        journal = open_journal(config.resolve(config.journal.path))
        try:
            result = run_simulation(
                config, make_feed(config, journal), journal, new_run_id(), progress=False, quiet_steps=quiet
            )
            rows = journal.query(
                "SELECT ts, verdict FROM decisions WHERE run_id = ? ORDER BY id", (result.run_id,)
            )
            equity_rows = journal.query("SELECT COUNT(*) FROM equity WHERE run_id = ?", (result.run_id,))
        finally:
            journal.close()
        assert [row["verdict"] for row in rows] == ["allow", "halt"]  # the entry, the trip: no denials
        assert rows[-1]["ts"].startswith("2024-01-04")
        assert result.verdicts == {"allow": 1, "halt:daily_loss": 1}
        assert [(f.side, f.qty, f.price) for f in result.fills] == [
            (Side.BUY, 50, 100.0),
            (Side.SELL, 50, 82.0),
        ]
        assert equity_rows[0][0] == len(result.equity) == len(BARS) + len(later)
        assert (result.equity["equity"].iloc[-4:] == 5_000.0 + 50 * 82.0).all()  # flat since Jan 5


def test_the_market_view_counts_how_far_a_symbol_fell_behind():
    import pandas as pd

    from bot.engine.market import MarketView

    days = pd.DatetimeIndex(pd.to_datetime([d for d, *_ in BARS]).tz_localize("America/New_York"))
    frame = pd.DataFrame({c: [100.0] * 4 for c in ("open", "high", "low", "close", "volume")}, index=days)
    view = MarketView({"X": frame, "Y": frame.iloc[:1]})  # Y stops printing after the first day
    behind = []
    for _ in range(4):
        view.advance()
        behind.append((view.bars_behind("X"), view.bars_behind("Y")))
    assert behind == [(0, 0), (0, 1), (0, 2), (0, 3)]


def test_an_atr_stop_and_the_nearer_of_two_stops():
    import pandas as pd

    from bot.engine.engine import Engine
    from bot.engine.indicators import average_true_range
    from bot.engine.market import MarketView

    index = pd.date_range("2024-01-02", periods=4, freq="D", tz="UTC", name="ts")
    frame = pd.DataFrame(
        [(100, 100, 100, 100, 1.0), (100, 101, 99, 100, 1.0), (80, 82, 79, 81, 1.0), (82, 86, 82, 85, 1.0)],
        index=index,
        columns=["open", "high", "low", "close", "volume"],
    )
    view = MarketView({"X": frame})
    view.seek_end()
    # true ranges of the last 3 bars: max(2, 1, 1) = 2; max(3, 18, 21) = 21; max(4, 5, 1) = 5
    assert average_true_range(view, "X", 3) == (2 + 21 + 5) / 3
    assert average_true_range(view, "X", 4) is None  # needs window + 1 bars
    engine = Engine.__new__(Engine)  # only the stop settings matter here
    engine.stop_loss_pct, engine.stop_loss_atr, engine.atr_window = 0.0, 1.5, 3
    assert engine.stop_price("X", 85.0, view) == round(85.0 - 1.5 * 28 / 3, 2)
    engine.stop_loss_pct = 0.05  # 80.75 is nearer than 71.0: the smaller loss wins
    assert engine.stop_price("X", 85.0, view) == 80.75
    engine.stop_loss_atr = 0.0
    assert engine.stop_price("X", 85.0, view) == 80.75
    engine.stop_loss_pct = 0.0
    assert engine.stop_price("X", 85.0, view) is None
