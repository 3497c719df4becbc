"""Remember which Slack events were already handled, so a retry is never answered twice.

Slack retries an event (same `event_id`, header X-Slack-Retry-Num) when it did not see
a 2xx in time, and the same message can arrive as both `app_mention` and `message.im`.
The in-memory map catches the common case; the optional store catches retries that
land after a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from bot.store.health import StoreUnavailable

log = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 3600.0  # Slack's last retry comes ~5 minutes after the first try


class EventClaims(Protocol):
    def claim_event(self, key: str, ttl_seconds: float) -> bool: ...

    def prune_events(self, ttl_seconds: float) -> None: ...


class Deduper:
    """Thread-safe TTL set: `first_time(key)` is True once per key per TTL."""

    def __init__(
        self, store: EventClaims | None = None, ttl_seconds: float = DEFAULT_TTL_SECONDS
    ) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._next_prune = time.monotonic() + ttl_seconds

    def first_time(self, key: str) -> bool:
        """Claim `key`; False means it was already claimed within the TTL."""
        now = time.monotonic()
        with self._lock:
            expires = self._seen.get(key)
            if expires is not None and expires > now:
                return False
            self._seen[key] = now + self._ttl
            prune = now >= self._next_prune
            if prune:
                self._seen = {k: v for k, v in self._seen.items() if v > now}
                self._next_prune = now + self._ttl
        if self._store is None or getattr(self._store, "down", False):
            return True  # no store, or a known outage: never make Slack's ack wait on it
        try:
            if prune:
                self._store.prune_events(self._ttl)
            return self._store.claim_event(key, self._ttl)
        except StoreUnavailable:  # logged once by the store's health monitor
            return True
        except Exception:  # the memory check already ran; a store hiccup must not drop events
            log.warning("dedupe store unavailable; using memory only", exc_info=True)
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)
