"""Persistence behind one small interface, so the backend can change without the callers.

SQLite in DATA_DIR is the embedded default; DATABASE_URL picks another file
(`sqlite:///path`) or PostgreSQL (`postgresql://...`). Both backends share their SQL
and logic (bot.store.sql, bot.store.base).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from bot.config import ConfigError, Settings
from bot.observability.logs import Redactor
from bot.observability.urls import safe_url
from bot.store.records import Escalation, Feedback, Interaction, PruneResult
from bot.store.sqlite import SchemaError, SQLiteStore

DB_FILENAME = "opsbot.sqlite3"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
log = logging.getLogger(__name__)

__all__ = [
    "Escalation",
    "Feedback",
    "Interaction",
    "PruneResult",
    "SQLiteStore",
    "Store",
    "open_store",
]


class Store(Protocol):
    """What the Slack layer, the chat and the report need from persistence."""

    @property
    def store_questions(self) -> bool: ...

    def save_interaction(self, record: Interaction) -> int: ...

    def get_interaction(self, interaction_id: int) -> Interaction | None: ...

    def interactions(self, since: float = 0.0) -> list[Interaction]: ...

    def record_vote(self, interaction_id: int, user_id: str, channel: str, vote: str) -> bool: ...

    def feedback(self, since: float = 0.0) -> list[Feedback]: ...

    def record_escalation(
        self, interaction_id: int, user_id: str, channel: str, group_id: str
    ) -> bool: ...

    def escalations(self, since: float = 0.0) -> list[Escalation]: ...

    def claim_event(self, key: str, ttl_seconds: float) -> bool: ...

    def prune_events(self, ttl_seconds: float) -> None: ...

    def prune(self, now: float | None = None) -> PruneResult: ...

    def close(self) -> None: ...


def open_store(settings: Settings) -> Store:
    """Open the configured store; a bad DATABASE_URL or DATA_DIR is a one-line ConfigError.
    Without DATABASE_URL, a shared index's database (INDEX_URL) holds the feedback too: a
    replica then writes nothing to its working directory."""
    url = settings.database_url.strip() or settings.index_url
    options: dict[str, Any] = {
        "store_questions": settings.store_questions,
        "retention_days": settings.retention_days,
    }
    if url.startswith(POSTGRES_SCHEMES):
        return _open_postgres(url, options, settings.database_wait)
    if url and not url.startswith("sqlite:///"):
        scheme = url.split(":", 1)[0] if ":" in url else url[:20]
        raise ConfigError(
            f"DATABASE_URL scheme {scheme!r} is not supported; "
            "use sqlite:///PATH or postgresql://USER@HOST/DB"
        )
    path = Path(url.removeprefix("sqlite:///")) if url else settings.data_dir / DB_FILENAME
    where = f"DATABASE_URL file {str(path)!r}" if url else f"DATA_DIR {str(settings.data_dir)!r}"
    try:
        return SQLiteStore(path, **options)
    except (OSError, SchemaError) as exc:  # e.g. DATA_DIR not writable
        raise ConfigError(f"{where} is not usable: {exc}") from None
    except Exception as exc:  # sqlite3.DatabaseError: not a database, locked, ...
        raise ConfigError(f"{where} is not usable: {_one_line(exc)}") from None


def _open_postgres(url: str, options: dict[str, Any], wait: float = 0.0) -> Store:
    """PostgresStore; an unreachable server is retried for `wait` seconds (DATABASE_WAIT:
    a database still starting beside the bot, as with podman-compose 1.0.3, which ignores
    compose's wait-for-healthy), one log line per try."""
    try:
        from bot.store.postgres import PostgresStore
    except ImportError:  # pragma: no cover - psycopg is a dependency
        raise ConfigError("DATABASE_URL is PostgreSQL but psycopg is not installed") from None
    import psycopg

    deadline = time.monotonic() + wait
    where = safe_url(url)
    while True:
        try:
            return PostgresStore(url, **options)
        except psycopg.OperationalError as exc:  # not up yet (compose, k8s), or refused
            message = _one_line(exc, secret=_password(url))
            if time.monotonic() + 2 > deadline:
                raise ConfigError(
                    f"DATABASE_URL {safe_url(url)} is not usable: {message}"
                ) from None
            log.warning("PostgreSQL is not reachable yet (%s); retrying", message)
            time.sleep(2)
        except Exception as exc:  # psycopg errors: bad URL, auth, permissions
            message = _one_line(exc, secret=_password(url))
            raise ConfigError(f"DATABASE_URL {where} is not usable: {message}") from None


def _password(url: str) -> str:
    try:
        return urlsplit(url).password or ""
    except ValueError:
        return ""


def _one_line(exc: BaseException, secret: str = "") -> str:
    """The error on one line, capped, with the password (if any) masked."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if secret:
        text = text.replace(secret, "***")
    return Redactor()(text)[:300]  # and any user:password@ the driver echoed
