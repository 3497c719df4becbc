"""Plain rows the store hands out; no SQL and no backend in here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Interaction:
    """One question put to the bot on any surface, answered or declined.

    The id doubles as the feedback button value, so a click finds its question again.
    """

    question: str
    answer: str
    sources: list[dict[str, Any]]
    answered: bool
    user_id: str = ""
    channel: str = ""
    surface: str = ""
    top_score: float = 0.0
    latency_ms: float = 0.0
    truncated: bool = False
    id: int | None = None
    created_at: float = 0.0


@dataclass(frozen=True)
class Feedback:
    """One user's current vote on one interaction (with a snapshot of what they saw)."""

    interaction_id: int
    question: str
    answer: str
    sources: list[dict[str, Any]]
    user_id: str
    channel: str
    vote: str
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class Escalation:
    """One "Ask a person": the question handed to a user group."""

    interaction_id: int
    question: str
    answered: bool
    user_id: str
    channel: str
    group_id: str
    created_at: float


@dataclass(frozen=True)
class PruneResult:
    """How many rows one retention pass removed."""

    interactions: int = 0
    feedback: int = 0
    events: int = 0
