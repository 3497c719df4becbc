"""Database health: notice an outage once, say so in /healthz and a metric, fail fast.

While the database is down, answers still go out (without 👍/👎, since a vote needs a
stored answer), and the outage is logged once, not once per question with a traceback.
After a failure, calls fail at once for RETRY_SECONDS instead of each one waiting out a
connect or lock timeout in Slack's ack path; then one call is let through to probe.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from bot.errors import OpsbotError
from bot.observability.metrics import DATABASE_UP

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0
T = TypeVar("T")


def is_outage(exc: BaseException) -> bool:
    """Errors that mean "the database is not answering" (unreachable, locked, disk full),
    as opposed to one statement's data being wrong (constraints, bad parameters)."""
    if isinstance(exc, (sqlite3.OperationalError, OSError)):
        return True
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))


class StoreUnavailable(OpsbotError, RuntimeError):
    """The database is down; the outage was logged when it began."""


class MonitoredStore:
    """Wraps any Store: same methods, plus `health()` and outage tracking."""

    def __init__(self, store: Any, retry_seconds: float = RETRY_SECONDS) -> None:
        self._store = store
        self.retry_seconds = retry_seconds
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._next_try = 0.0
        self._error = ""
        DATABASE_UP.set(1)

    @property
    def store_questions(self) -> bool:
        return bool(self._store.store_questions)

    @property
    def down(self) -> bool:
        """True during a known outage; Slack's ack path then skips the database entirely
        (answers, which run after the ack, probe for its return)."""
        return self._down_since is not None

    def health(self) -> dict[str, Any]:
        with self._lock:
            if self._down_since is None:
                return {"ok": True}
            return {"ok": False, "since": self._down_since, "error": self._error}

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self._lock:
            if self._down_since is not None and time.monotonic() < self._next_try:
                raise StoreUnavailable(f"database unavailable: {self._error}")
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            if not is_outage(exc):
                raise  # a bad row is the caller's problem, not an outage
            self._failed(exc)
            raise StoreUnavailable(f"database unavailable: {self._error}") from exc
        self._succeeded()
        return result

    def _failed(self, exc: Exception) -> None:
        error = " ".join(str(exc).split())[:200] or type(exc).__name__
        with self._lock:
            self._next_try = time.monotonic() + self.retry_seconds
            first = self._down_since is None
            if first:
                self._down_since, self._error = time.time(), error
        if first:
            DATABASE_UP.set(0)
            log.error(
                "database unavailable (%s); answering without storing questions or "
                "feedback buttons until it is back",
                error,
            )

    def _succeeded(self) -> None:
        with self._lock:
            since, self._down_since = self._down_since, None
        if since is not None:
            DATABASE_UP.set(1)
            log.warning("database is back after %.0fs", time.time() - since)

    # -- the Store interface --------------------------------------------------------------

    def save_interaction(self, record: Any) -> int:
        return self._call(self._store.save_interaction, record)

    def get_interaction(self, interaction_id: int) -> Any:
        return self._call(self._store.get_interaction, interaction_id)

    def interactions(self, since: float = 0.0) -> list[Any]:
        return self._call(self._store.interactions, since)

    def record_vote(self, interaction_id: int, user_id: str, channel: str, vote: str) -> bool:
        return self._call(self._store.record_vote, interaction_id, user_id, channel, vote)

    def feedback(self, since: float = 0.0) -> list[Any]:
        return self._call(self._store.feedback, since)

    def record_escalation(
        self, interaction_id: int, user_id: str, channel: str, group_id: str
    ) -> bool:
        return self._call(self._store.record_escalation, interaction_id, user_id, channel, group_id)

    def escalations(self, since: float = 0.0) -> list[Any]:
        return self._call(self._store.escalations, since)

    def claim_event(self, key: str, ttl_seconds: float) -> bool:
        return self._call(self._store.claim_event, key, ttl_seconds)

    def prune_events(self, ttl_seconds: float) -> None:
        self._call(self._store.prune_events, ttl_seconds)

    def prune(self, now: float | None = None) -> Any:
        return self._call(self._store.prune, now)

    def close(self) -> None:
        self._store.close()
