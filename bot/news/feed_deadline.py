"""A hard deadline for one HTTP exchange: the socket is shut down when the time is up.

Socket timeouts bound each *wait*, not the whole exchange: a server that sends its status line or
headers one byte a second never lets a read time out, and ``http.client`` reads the head before
any code of ours runs again. So the connection classes here arm a timer when the response is
awaited (``getresponse``) that shuts the socket down at the deadline; the blocked read then fails
at once and ``expired`` tells the caller why. Armed per thread through ``Deadline.running()``:
one feed's deadline never touches another download running beside it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()


class Deadline:
    """Shuts down the socket it is armed on once ``seconds`` (from creation) have passed."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.expired = False
        self.awaiting = "status line and headers"  # what the exchange waits for; the caller moves it on
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    @contextmanager
    def running(self) -> Iterator[Deadline]:
        """Applies to every response awaited on this thread inside the block (redirects included)."""
        _current.deadline = self
        try:
            yield self
        finally:
            _current.deadline = None
            self._disarm()

    def arm(self, sock: socket.socket | None) -> None:
        self._disarm()
        if sock is None:
            return
        timer = threading.Timer(max(0.0, self.at - time.monotonic()), self._expire, (sock,))
        timer.daemon = True
        with self._lock:
            self._timer = timer
        timer.start()

    def _expire(self, sock: socket.socket) -> None:
        self.expired = True
        try:
            sock.shutdown(socket.SHUT_RDWR)  # the blocked recv returns; the connection is discarded
        except OSError:
            pass  # already closed: the exchange ended as the timer fired

    def _disarm(self) -> None:
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()


class _Armed:
    """Mixin for urllib3 connections: the thread's deadline (if any) covers status line, headers, body."""

    sock: socket.socket | None

    def getresponse(self):  # type: ignore[no-untyped-def]  # urllib3's own signature
        deadline: Deadline | None = getattr(_current, "deadline", None)
        if deadline is not None:
            deadline.arm(self.sock)
        return super().getresponse()  # type: ignore[misc]


class _HTTPConnection(_Armed, HTTPConnection):
    pass


class _HTTPSConnection(_Armed, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """A requests adapter whose connections honour ``Deadline.running()`` (proxied ones too)."""

    def init_poolmanager(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs) -> urllib3.PoolManager:  # type: ignore[no-untyped-def]
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = dict(_POOLS)
        return manager
