"""SQLite persistence for answered messages, feedback votes and seen Slack events.

All SQL lives in `SQL` so a PostgreSQL backend (or an `interactions` table) can be
added later by writing another class with the same methods; the statements use
portable syntax (`ON CONFLICT ... DO UPDATE`, works in SQLite >= 3.24 and Postgres)
and `?` placeholders that a Postgres backend would translate to `%s`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1


class SQL:
    """Every statement the store runs, in one place."""

    schema = (
        """CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS answers (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            sources TEXT NOT NULL,
            answered INTEGER NOT NULL,
            user_id TEXT NOT NULL DEFAULT '',
            channel TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS feedback (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            answer_id INTEGER NOT NULL REFERENCES answers(id),
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            sources TEXT NOT NULL,
            user_id TEXT NOT NULL,
            channel TEXT NOT NULL DEFAULT '',
            vote TEXT NOT NULL CHECK (vote IN ('up', 'down')),
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            UNIQUE (answer_id, user_id)
        )""",
        """CREATE TABLE IF NOT EXISTS seen_events (
            event_key TEXT PRIMARY KEY,
            seen_at REAL NOT NULL
        )""",
    )
    get_version = "SELECT version FROM schema_version"
    set_version = "INSERT INTO schema_version (version) VALUES (?)"
    insert_answer = (
        "INSERT INTO answers (question, answer, sources, answered, user_id, channel, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)"
    )
    get_answer = (
        "SELECT id, question, answer, sources, answered, user_id, channel, created_at"
        " FROM answers WHERE id = ?"
    )
    upsert_vote = (
        "INSERT INTO feedback (answer_id, question, answer, sources, user_id, channel, vote,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (answer_id, user_id) DO UPDATE SET vote = excluded.vote,"
        " channel = excluded.channel, updated_at = excluded.updated_at"
    )
    list_feedback = (
        "SELECT answer_id, question, answer, sources, user_id, channel, vote, created_at,"
        " updated_at FROM feedback ORDER BY id"
    )
    # Claims a key unless it was seen within the TTL; rowcount 1 means "first time".
    claim_event = (
        "INSERT INTO seen_events (event_key, seen_at) VALUES (?, ?)"
        " ON CONFLICT (event_key) DO UPDATE SET seen_at = excluded.seen_at"
        " WHERE seen_events.seen_at < ?"
    )
    prune_events = "DELETE FROM seen_events WHERE seen_at < ?"


@dataclass(frozen=True)
class AnswerRecord:
    """One answer the bot posted, so a feedback click can be traced to its question."""

    question: str
    answer: str
    sources: list[dict[str, Any]]
    answered: bool
    user_id: str = ""
    channel: str = ""
    id: int | None = None
    created_at: float = 0.0


@dataclass(frozen=True)
class Feedback:
    """One user's current vote on one answer."""

    answer_id: int
    question: str
    answer: str
    sources: list[dict[str, Any]]
    user_id: str
    channel: str
    vote: str
    created_at: float
    updated_at: float


class SQLiteStore:
    """One shared connection behind a lock: writes are tiny, so contention is negligible."""

    def __init__(self, path: str | Path, *, store_questions: bool = True) -> None:
        self.path = Path(path)
        self.store_questions = store_questions
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.execute("PRAGMA foreign_keys=ON")
        with self._lock:
            for statement in SQL.schema:
                self._conn.execute(statement)
            if self._conn.execute(SQL.get_version).fetchone() is None:
                self._conn.execute(SQL.set_version, (SCHEMA_VERSION,))

    def journal_mode(self) -> str:
        with self._lock:
            return str(self._conn.execute("PRAGMA journal_mode").fetchone()[0])

    def save_answer(self, record: AnswerRecord) -> int:
        """Store an answer before posting it; the returned id goes into the button value."""
        row = (
            record.question if self.store_questions else "",
            record.answer,
            json.dumps(record.sources, ensure_ascii=False),
            int(record.answered),
            record.user_id,
            record.channel,
            record.created_at or time.time(),
        )
        with self._lock:
            cursor = self._conn.execute(SQL.insert_answer, row)
            return int(cursor.lastrowid or 0)

    def get_answer(self, answer_id: int) -> AnswerRecord | None:
        with self._lock:
            row = self._conn.execute(SQL.get_answer, (answer_id,)).fetchone()
        if row is None:
            return None
        return AnswerRecord(
            id=row[0],
            question=row[1],
            answer=row[2],
            sources=json.loads(row[3]),
            answered=bool(row[4]),
            user_id=row[5],
            channel=row[6],
            created_at=row[7],
        )

    def record_vote(self, answer_id: int, user_id: str, channel: str, vote: str) -> bool:
        """Insert or update this user's vote; False when the answer id is unknown."""
        if vote not in ("up", "down"):
            raise ValueError(f"vote must be 'up' or 'down', got {vote!r}")
        record = self.get_answer(answer_id)
        if record is None:
            return False
        now = time.time()
        sources = json.dumps(record.sources, ensure_ascii=False)
        row = (answer_id, record.question, record.answer, sources, user_id, channel, vote)
        with self._lock:
            self._conn.execute(SQL.upsert_vote, (*row, now, now))
        return True

    def feedback(self) -> list[Feedback]:
        with self._lock:
            rows = self._conn.execute(SQL.list_feedback).fetchall()
        return [
            Feedback(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6], r[7], r[8]) for r in rows
        ]

    def claim_event(self, key: str, ttl_seconds: float) -> bool:
        """True the first time `key` is seen within the TTL (survives restarts)."""
        now = time.time()
        with self._lock:
            cursor = self._conn.execute(SQL.claim_event, (key, now, now - ttl_seconds))
            return cursor.rowcount == 1

    def prune_events(self, ttl_seconds: float) -> None:
        with self._lock:
            self._conn.execute(SQL.prune_events, (time.time() - ttl_seconds,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()
