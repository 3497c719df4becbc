"""Persistence behind one small interface, so the backend can change without the callers.

Today only SQLite (a file in DATA_DIR). A PostgreSQL backend would implement `Store`
and be picked here from DATABASE_URL.
"""

from __future__ import annotations

from typing import Protocol

from bot.config import ConfigError, Settings
from bot.store.feedback import AnswerRecord, Feedback, SQLiteStore

DB_FILENAME = "opsbot.sqlite3"

__all__ = ["AnswerRecord", "Feedback", "SQLiteStore", "Store", "open_store"]


class Store(Protocol):
    """What the Slack layer needs from persistence."""

    def save_answer(self, record: AnswerRecord) -> int: ...

    def get_answer(self, answer_id: int) -> AnswerRecord | None: ...

    def record_vote(self, answer_id: int, user_id: str, channel: str, vote: str) -> bool: ...

    def feedback(self) -> list[Feedback]: ...

    def claim_event(self, key: str, ttl_seconds: float) -> bool: ...

    def prune_events(self, ttl_seconds: float) -> None: ...

    def close(self) -> None: ...


def open_store(settings: Settings) -> Store:
    """Open the configured store; an unsupported DATABASE_URL is a one-line ConfigError."""
    url = settings.database_url
    if url and not url.startswith("sqlite:///"):
        scheme = url.split(":", 1)[0]
        raise ConfigError(f"DATABASE_URL scheme {scheme!r} is not supported yet; use sqlite:///")
    path = url.removeprefix("sqlite:///") if url else settings.data_dir / DB_FILENAME
    try:
        return SQLiteStore(path, store_questions=settings.store_questions)
    except OSError as exc:  # e.g. DATA_DIR not writable
        raise ConfigError(f"DATA_DIR {str(settings.data_dir)!r} is not usable: {exc}") from None
