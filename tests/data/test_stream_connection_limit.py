"""Alpaca's one data-stream session per account, with the real alpaca-py client against
``fakes.alpaca_stream``: a ``BarStream`` refused with 406 "connection limit exceeded" says so once,
stays unhealthy (so ``LiveBars`` polls REST), tries again only every ``limit_retry_seconds``,
stops promptly, and takes the stream over once the other session is gone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from structlog.testing import capture_logs

from bot.data.alpaca_stream import BarStream, data_stream_url

from fakes.alpaca_stream import StreamFakeServer, data_session

wait_for = StreamFakeServer.wait_for
START = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in New York
DATA_PATH = "/v2/iex"


@pytest.fixture
def fake() -> Iterator[StreamFakeServer]:
    server = StreamFakeServer().start()
    yield server
    server.stop()


@pytest.fixture
def streams() -> Iterator[list[BarStream]]:
    """Every ``BarStream`` a test starts; each must stop promptly, whatever it was doing."""
    started: list[BarStream] = []
    yield started
    for stream in started:
        began = time.monotonic()
        assert stream.stop(1.0) and time.monotonic() - began < 1, "the stream did not stop promptly"


def start_stream(fake: StreamFakeServer, streams: list[BarStream], **kwargs: float) -> BarStream:
    stream = BarStream(
        ["AAA"], url=data_stream_url(fake.url, "iex"), key=fake.key_id, secret=fake.secret_key, **kwargs
    )
    streams.append(stream)
    stream.start()
    return stream


def limit_events(logs: list[dict]) -> list[dict]:
    return [e for e in logs if e["event"].startswith("bars_stream_connection_limit")]


def test_a_second_stream_is_refused_once_says_why_and_leaves_the_first_alone(fake, streams):
    first = start_stream(fake, streams)  # e.g. the daemon
    assert wait_for(lambda: fake.subscribed("AAA") and first.connected)
    with capture_logs() as logs:
        second = start_stream(fake, streams)  # e.g. a second `run` with the same keys
        assert wait_for(lambda: fake.limit_refusals == 1) and wait_for(lambda: second.connection_limited)
        time.sleep(2.5)  # alpaca-py's own backoff (0.5-1 s, then 1-2 s) would have tried twice more
    assert fake.limit_refusals == 1 and fake.connections[DATA_PATH] == 2
    assert not second.connected and not second.healthy()
    [event] = limit_events(logs)
    assert event["event"] == "bars_stream_connection_limit" and event["log_level"] == "warning"
    assert "another process" in event["note"] and "REST" in event["note"] and event["retry_seconds"] == 300

    assert fake.push_bar("AAA", START, 1, 2, 0.5, 1.5) == 1  # the first session streams on
    assert wait_for(lambda: first.received == 1) and first.healthy() and second.received == 0


def test_the_stream_is_taken_over_once_the_other_session_is_gone(fake, streams):
    with data_session(fake), capture_logs() as logs:  # a notebook, say, holds the stream
        stream = start_stream(fake, streams, limit_retry_seconds=0.3)
        assert wait_for(lambda: fake.limit_refusals >= 3)  # refused again on every retry
        assert not stream.connected and stream.connection_limited
    with capture_logs() as later:
        assert wait_for(lambda: fake.subscribed("AAA") and stream.connected)
        fake.push_bar("AAA", START, 1, 2, 0.5, 1.5)
        assert wait_for(lambda: stream.received == 1)
    assert stream.healthy() and not stream.connection_limited
    assert [e["event"] for e in limit_events(logs)] == ["bars_stream_connection_limit"]  # once, not per retry
    assert [e["event"] for e in limit_events(later)] == ["bars_stream_connection_limit_cleared"]


def test_with_the_limit_switched_off_two_sessions_stream_side_by_side(fake, streams):
    fake.one_data_connection = False
    with data_session(fake, bars=("AAA",)), capture_logs() as logs:
        stream = start_stream(fake, streams)
        assert wait_for(lambda: stream.connected)
        # pushed until both sessions get it (the stream's subscribe may still be on its way)
        assert wait_for(lambda: fake.push_bar("AAA", START, 1, 2, 0.5, 1.5) == 2, timeout=2)
        assert wait_for(lambda: stream.received >= 1) and stream.healthy()
    assert fake.limit_refusals == 0 and limit_events(logs) == []
