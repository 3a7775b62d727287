"""A paced replay says at start how long one bar takes, and warns past 10 s a bar (issue 17: the
default daily bars at 600x advance one bar every 144 s and seemed to hang)."""

from __future__ import annotations

from bot.calendar.timeframes import parse_timeframe
from bot.daemon.bars import ReplayBars
from bot.daemon.runner import pace_lines


def test_daily_bars_at_600x_take_144_s_and_say_so():
    replay = ReplayBars([], parse_timeframe("1Day"), 600)
    assert replay.step_seconds == 144.0
    lines = pace_lines("1Day", replay.step_seconds, 600)
    assert lines[0] == "pace: one 1Day bar every 144 s at 600x"
    assert len(lines) == 2 and lines[1].startswith("WARNING: one bar every 144 s looks stuck")
    assert "--speed 86400" in lines[1] and "--timeframe 1Min" in lines[1]


def test_minute_bars_at_600x_are_quick_and_quiet():
    replay = ReplayBars([], parse_timeframe("1Min"), 600)
    assert pace_lines("1Min", replay.step_seconds, 600) == ["pace: one 1Min bar every 0.1 s at 600x"]
    assert len(pace_lines("1Hour", ReplayBars([], parse_timeframe("1Hour"), 360).step_seconds, 360)) == 1
    assert len(pace_lines("1Hour", ReplayBars([], parse_timeframe("1Hour"), 359).step_seconds, 359)) == 2
