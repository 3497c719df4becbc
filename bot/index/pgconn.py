"""Connections to the index database: a small pool, and one clear error when it is gone.

Questions run in parallel threads; each borrows a connection for its few statements. A
connection the server dropped (restart, failover) is thrown away and the statement tried
once more on a fresh one; if that fails too, `IndexUnavailableError` says so in one line.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg

from bot.index.store import IndexUnavailableError

CONNECT_TIMEOUT_SECONDS = 5
EF_SEARCH = 400  # HNSW candidates per search: recall@10 0.968 at 1M with m=32 (pghnsw.py)
MAX_CONNECTIONS = 8
T = TypeVar("T")


def redact(url: str) -> str:
    """The URL without its password, for messages and /healthz."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


class Pool:
    """Up to MAX_CONNECTIONS autocommit connections, reused last-in first-out."""

    def __init__(self, url: str, size: int = MAX_CONNECTIONS) -> None:
        self.url = url
        self._idle: queue.LifoQueue[psycopg.Connection[Any]] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self._closed = False

    def connect(self) -> psycopg.Connection[Any]:
        try:
            conn = psycopg.connect(
                self.url,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                application_name="opsbot-index",
            )
        except psycopg.OperationalError as exc:
            raise unavailable(self.url, exc) from None
        conn.execute(f"SET hnsw.ef_search = {EF_SEARCH}")
        return conn

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        self._slots.acquire()
        conn = None
        try:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = self.connect()
            yield conn
        except BaseException:
            if conn is not None and (conn.closed or conn.broken):
                conn.close()
                conn = None
            raise
        finally:
            if conn is not None:
                if self._closed or conn.closed or conn.broken:
                    conn.close()
                else:
                    self._idle.put(conn)
            self._slots.release()

    def run(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """`work(conn)`, retried once on a fresh connection if the first one had died."""
        for attempt in (1, 2):
            try:
                with self.connection() as conn:
                    return work(conn)
            except psycopg.OperationalError as exc:
                self._drop_idle()  # the server went away: every idle connection is stale
                if attempt == 2:
                    raise unavailable(self.url, exc) from None
        raise AssertionError("unreachable")

    def _drop_idle(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

    def close(self) -> None:
        self._closed = True
        self._drop_idle()


def unavailable(url: str, exc: BaseException) -> IndexUnavailableError:
    reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    return IndexUnavailableError(f"the index database {redact(url)} is unreachable ({reason})")
