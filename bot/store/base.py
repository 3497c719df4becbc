"""What both backends share: row mapping, privacy, votes, retention.

A backend only supplies `_run` (one statement under its lock) and its own set-up,
so behaviour cannot drift between SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from typing import Any

from bot.store.records import Escalation, Feedback, Interaction, PruneResult
from bot.store.sql import SQL

PRUNE_EVERY_SECONDS = 3600.0
DAY = 86400.0


class SQLStore:
    """The store's whole interface, on top of a backend's `_run`."""

    dialect = ""

    def __init__(self, *, store_questions: bool = True, retention_days: int = 0) -> None:
        self.store_questions = store_questions
        self.retention_days = retention_days
        self._next_prune = 0.0
        self._prune_lock = threading.Lock()

    # -- backend hook -------------------------------------------------------------------

    def _run(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[tuple[Any, ...]], int]:
        """Execute one statement (autocommit); (rows, rowcount)."""
        raise NotImplementedError

    # -- interactions -------------------------------------------------------------------

    def save_interaction(self, record: Interaction) -> int:
        """Store one question; the id goes into the feedback buttons' value."""
        keep_text = self.store_questions
        row = (
            record.created_at or time.time(),
            record.surface,
            record.question if keep_text else "",
            record.answer if keep_text else "",
            int(record.answered),
            float(record.top_score),
            json.dumps(record.sources, ensure_ascii=False),
            float(record.latency_ms),
            int(record.truncated),
            record.user_id,
            record.channel,
        )
        rows, _ = self._run(SQL.insert_interaction, row)
        self.maybe_prune()
        return int(rows[0][0])

    def get_interaction(self, interaction_id: int) -> Interaction | None:
        rows, _ = self._run(SQL.get_interaction, (interaction_id,))
        return _interaction(rows[0]) if rows else None

    def interactions(self, since: float = 0.0) -> list[Interaction]:
        """Every interaction created at or after `since` (unix time), oldest first."""
        rows, _ = self._run(SQL.list_interactions, (since,))
        return [_interaction(r) for r in rows]

    # -- feedback -----------------------------------------------------------------------

    def record_vote(self, interaction_id: int, user_id: str, channel: str, vote: str) -> bool:
        """Insert or update this user's vote; False when the interaction id is unknown."""
        if vote not in ("up", "down"):
            raise ValueError(f"vote must be 'up' or 'down', got {vote!r}")
        record = self.get_interaction(interaction_id)
        if record is None:
            return False
        now = time.time()
        sources = json.dumps(record.sources, ensure_ascii=False)
        row = (interaction_id, record.question, record.answer, sources, user_id, channel, vote)
        self._run(SQL.upsert_vote, (*row, now, now))
        return True

    def feedback(self, since: float = 0.0) -> list[Feedback]:
        """Current votes on the interactions created at or after `since`."""
        rows, _ = self._run(SQL.list_feedback, (since,))
        return [
            Feedback(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6], r[7], r[8]) for r in rows
        ]

    # -- escalations --------------------------------------------------------------------

    def record_escalation(
        self, interaction_id: int, user_id: str, channel: str, group_id: str
    ) -> bool:
        """Store one "Ask a person"; False when this answer was already escalated."""
        row = (interaction_id, user_id, channel, group_id, time.time())
        rows, _ = self._run(SQL.insert_escalation, row)
        return bool(rows)

    def escalations(self, since: float = 0.0) -> list[Escalation]:
        """Escalations of the interactions created at or after `since`."""
        rows, _ = self._run(SQL.list_escalations, (since,))
        return [
            Escalation(int(r[0]), r[1], bool(r[2]), r[3], r[4], r[5], float(r[6])) for r in rows
        ]

    # -- dedupe -------------------------------------------------------------------------

    def claim_event(self, key: str, ttl_seconds: float) -> bool:
        """True the first time `key` is seen within the TTL (survives restarts)."""
        now = time.time()
        _, count = self._run(SQL.claim_event, (key, now, now - ttl_seconds))
        return count == 1

    def prune_events(self, ttl_seconds: float) -> None:
        self._run(SQL.prune_events, (time.time() - ttl_seconds,))

    # -- retention ----------------------------------------------------------------------

    def prune(self, now: float | None = None) -> PruneResult:
        """Drop interactions, their votes and seen events older than RETENTION_DAYS (0 keeps)."""
        if self.retention_days <= 0:
            return PruneResult()
        cutoff = (time.time() if now is None else now) - self.retention_days * DAY
        _, votes = self._run(SQL.prune_feedback, (cutoff,))
        self._run(SQL.prune_escalations, (cutoff,))
        _, interactions = self._run(SQL.prune_interactions, (cutoff,))
        _, events = self._run(SQL.prune_events, (cutoff,))
        return PruneResult(interactions, votes, events)

    def maybe_prune(self) -> None:
        """Prune on open, then at most hourly, piggy-backing on writes (no timer thread)."""
        if self.retention_days <= 0 or time.monotonic() < self._next_prune:
            return
        if not self._prune_lock.acquire(blocking=False):
            return  # another thread is on it
        try:
            self._next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
            self.prune()
        finally:
            self._prune_lock.release()

    def close(self) -> None:
        raise NotImplementedError


def _interaction(row: Sequence[Any]) -> Interaction:
    return Interaction(
        id=int(row[0]),
        created_at=float(row[1]),
        surface=row[2],
        question=row[3],
        answer=row[4],
        answered=bool(row[5]),
        top_score=float(row[6]),
        sources=json.loads(row[7]),
        latency_ms=float(row[8]),
        truncated=bool(row[9]),
        user_id=row[10],
        channel=row[11],
    )
