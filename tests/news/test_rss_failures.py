"""RssFetcher when feeds misbehave: bad bodies, HTTP errors, silence, drips, and the backoff."""

from __future__ import annotations

import socket
import time
from datetime import timedelta

from structlog.testing import capture_logs

from fakes.feed_docs import rss_document
from newskit import SMALL_ITEMS, MutableClock, make_fetcher, warnings_of

RSS = {"Content-Type": "application/rss+xml"}


def closed_port() -> int:
    """A port that was free a moment ago (so a connection to it is refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_bodies_that_are_not_feeds_fail_alone(feed_server):
    html = feed_server.route(
        "/page.html", "<html><body><p>Hello</p></body></html>", headers={"Content-Type": "text/html"}
    )
    junk = feed_server.route(
        "/junk.bin",
        b"\x00\x01\x02 not xml at all \xff\xfe",
        headers={"Content-Type": "application/octet-stream"},
    )
    json_ = feed_server.route("/api.json", '{"items": []}', headers={"Content-Type": "application/json"})
    empty = feed_server.route("/empty.xml", b"", headers=RSS)
    good = feed_server.route("/good.xml", rss_document(SMALL_ITEMS), headers=RSS)
    fetcher = make_fetcher([html, junk, json_, empty, good], clock=MutableClock())
    with capture_logs() as logs:
        got = fetcher.fetch()
    assert len(got) == 3
    failed = {e["url"]: e["reason"] for e in warnings_of(logs, "feed_failed")}
    assert set(failed) == {html, junk, json_, empty}
    assert all(reason.startswith("not a feed") for reason in failed.values()), failed
    assert (fetcher.last_report.attempted, fetcher.last_report.failed) == (5, 4)


def test_an_empty_but_valid_feed_is_not_an_error(feed_server):
    url = feed_server.route("/none.xml", rss_document([]), headers=RSS)
    fetcher = make_fetcher([url], clock=MutableClock())
    with capture_logs() as logs:
        assert fetcher.fetch() == []
    assert not warnings_of(logs, "feed_failed") and fetcher.last_report.failed == 0


def test_http_404_and_500_are_logged_and_the_good_feed_is_kept(feed_server):
    missing = feed_server.url("/nowhere.xml")  # no route: 404
    broken = feed_server.route("/boom.xml", "oops", status=500, headers={"Content-Type": "text/plain"})
    good = feed_server.route("/good.xml", rss_document(SMALL_ITEMS), headers=RSS)
    fetcher = make_fetcher([missing, broken, good], clock=MutableClock())
    with capture_logs() as logs:
        got = fetcher.fetch()
    assert len(got) == 3 and {h.source for h in got} == {f"rss:{good}"}
    failed = {e["url"]: e["reason"] for e in warnings_of(logs, "feed_failed")}
    assert failed[missing].startswith("HTTP 404") and failed[broken].startswith("HTTP 500")
    assert fetcher.last_report.all_failed is False


def test_a_server_that_never_answers_or_drips_is_abandoned(feed_server):
    silent = feed_server.route("/silent.xml", hang=True)
    drip = feed_server.route("/drip.xml", rss_document(SMALL_ITEMS), headers=RSS, trickle=0.02)  # ~20 s whole
    good = feed_server.route("/good.xml", rss_document(SMALL_ITEMS), headers=RSS)
    refused = f"http://127.0.0.1:{closed_port()}/feed.xml"  # nothing listens there
    fetcher = make_fetcher([silent, drip, refused, good], clock=MutableClock(), timeout=0.5)
    started = time.monotonic()
    with capture_logs() as logs:
        got = fetcher.fetch()
    elapsed = time.monotonic() - started
    assert elapsed < 10  # finishes: bounded by the timeouts, not by the servers
    assert len(got) == 3
    failed = {e["url"]: e["reason"] for e in warnings_of(logs, "feed_failed")}
    assert failed[silent].startswith("timeout") and failed[silent].endswith("after 0.5 s")
    assert failed[drip].startswith("timeout")
    assert failed[refused].startswith("connection error")


def test_a_server_dripping_its_status_line_and_headers_is_cut_at_the_deadline(feed_server):
    """Each byte arrives well within the read wait, so only a total deadline can end the fetch."""
    head = feed_server.route("/head.xml", rss_document(SMALL_ITEMS), headers=RSS, trickle_head=0.2)  # ~16 s
    body = feed_server.route("/body.xml", rss_document(SMALL_ITEMS), headers=RSS, trickle=0.01)  # ~10 s
    good = feed_server.route("/good.xml", rss_document(SMALL_ITEMS), headers=RSS)
    fetcher = make_fetcher([head, body, good], clock=MutableClock(), timeout=1.0)
    started = time.monotonic()
    with capture_logs() as logs:
        got = fetcher.fetch()
    elapsed = time.monotonic() - started
    assert elapsed < 5, elapsed  # the deadline plus scheduling, not the server's pace
    assert len(got) == 3
    failed = {e["url"]: e["reason"] for e in warnings_of(logs, "feed_failed")}
    assert set(failed) == {head, body}
    assert failed[head] == "timeout: status line and headers not complete after 1 s"
    assert failed[body] == "timeout: body not complete after 1 s"
    assert "not a feed" not in " ".join(failed.values())  # the log blames the server's pace, not the document


def test_backoff_skips_then_retries_doubling_up_to_the_cap(feed_server):
    url = feed_server.route("/flaky.xml", "down", status=503)
    clock = MutableClock()
    t0 = clock.now
    fetcher = make_fetcher([url], clock=clock, backoff=60, max_backoff=200)

    def attempt_at(offset_seconds: float) -> int:
        """Fetch at t0 + offset; how many requests reached the server in that fetch."""
        clock.now = t0 + timedelta(seconds=offset_seconds)
        before = len(feed_server.hits("/flaky.xml"))
        fetcher.fetch()
        return len(feed_server.hits("/flaky.xml")) - before

    assert attempt_at(0) == 1  # error 1: wait 60 s
    assert fetcher.retry_at(url) == t0 + timedelta(seconds=60)
    assert attempt_at(59) == 0 and fetcher.last_report.skipped == 1
    assert attempt_at(60) == 1  # error 2: wait 120 s
    assert fetcher.retry_at(url) == t0 + timedelta(seconds=180)
    assert attempt_at(179) == 0
    assert attempt_at(180) == 1  # error 3: 240 s, capped at 200
    assert fetcher.retry_at(url) == t0 + timedelta(seconds=380)
    feed_server.route("/flaky.xml", rss_document(SMALL_ITEMS), headers=RSS)
    assert attempt_at(379) == 0
    with capture_logs() as logs:
        assert attempt_at(380) == 1
    assert fetcher.retry_at(url) is None  # success resets
    assert [e["after_errors"] for e in logs if e["event"] == "feed_recovered"] == [3]
    feed_server.route("/flaky.xml", "down again", status=500)
    assert attempt_at(381) == 1
    assert fetcher.retry_at(url) == t0 + timedelta(seconds=381 + 60)  # back to the first step


def test_backoff_is_per_feed(feed_server):
    bad = feed_server.route("/bad.xml", "x", status=500)
    good = feed_server.route("/good.xml", rss_document(SMALL_ITEMS[:1]), headers=RSS)
    clock = MutableClock()
    fetcher = make_fetcher([bad, good], clock=clock, backoff=60)
    fetcher.fetch()
    clock.now += timedelta(seconds=10)
    feed_server.route("/good.xml", rss_document(SMALL_ITEMS), headers=RSS)
    assert len(fetcher.fetch()) == 2  # the good feed is still asked while the bad one waits
    assert fetcher.last_report.skipped == 1 and len(feed_server.hits("/bad.xml")) == 1
