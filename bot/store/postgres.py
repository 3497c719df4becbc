"""PostgreSQL through psycopg 3, for teams that already run one (DATABASE_URL=postgresql://...).

One autocommit connection behind a lock, like the SQLite backend: every statement is a
few milliseconds, so a pool would add moving parts without adding throughput. A
connection the server dropped is reopened once before a statement fails.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import psycopg

from bot.store.base import SQLStore
from bot.store.sql import SCHEMA_VERSION, SQL, schema
from bot.store.sqlite import SchemaError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 5
SCHEMA_LOCK_ID = 7_020_001  # pg_advisory_xact_lock key: concurrent first starts queue here


def translate(sql: str) -> str:
    """SQLite-style `?` placeholders to psycopg's `%s` (statements hold no literal ? or %)."""
    return sql.replace("?", "%s")


class _Reconnected(Exception):
    """The connection broke under a statement that must not run twice; it was reopened."""


class PostgresStore(SQLStore):
    """Same interface and SQL as SQLiteStore; tables live in the URL's search_path."""

    dialect = "postgres"

    def __init__(self, url: str, *, store_questions: bool = True, retention_days: int = 0) -> None:
        super().__init__(store_questions=store_questions, retention_days=retention_days)
        self._url = url
        self._lock = threading.Lock()
        self._conn = self._connect()
        try:
            with self._lock:
                self._set_up()
        except BaseException:
            self._conn.close()
            raise
        self.maybe_prune()

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            self._url,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            application_name="opsbot",
        )

    def _set_up(self) -> None:
        """Create the schema once, even when several processes start together."""
        with self._conn.transaction():
            self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_ID,))
            statements = schema("postgres")
            self._conn.execute(statements[0])
            row = self._conn.execute(SQL.get_version).fetchone()
            version = row[0] if row else None
            if version is not None and version > SCHEMA_VERSION:
                raise SchemaError(
                    f"database has schema version {version}; this opsbot knows {SCHEMA_VERSION}"
                )
            for statement in statements[1:]:
                self._conn.execute(statement)
            if version is None:
                self._conn.execute(translate(SQL.set_version), (SCHEMA_VERSION,))
            elif version < SCHEMA_VERSION:  # the new tables were created just above
                self._conn.execute(translate(SQL.update_version), (SCHEMA_VERSION,))

    def _run(
        self, sql: str, params: Sequence[Any] = (), *, retry: bool = True
    ) -> tuple[list[tuple[Any, ...]], int]:
        """Run one statement; on a broken connection, reconnect and run it once more, or
        with `retry=False` raise `_Reconnected` (the statement may or may not have landed)."""
        query = translate(sql)
        with self._lock:
            try:
                return self._execute(query, params)
            except psycopg.OperationalError:
                if not self._conn.closed and not self._conn.broken:
                    raise
                log.warning("PostgreSQL connection lost; reconnecting once")
                self._conn = self._connect()
                if not retry:
                    raise _Reconnected from None
                return self._execute(query, params)

    def claim_event(self, key: str, ttl_seconds: float) -> bool:
        """Like the base claim, but never retried: a claim whose connection broke may have
        been stored, and its retry would find its own row and drop the event. A broken
        claim counts as the first (the in-memory set still stops this process's twins)."""
        now = time.time()
        try:
            _, count = self._run(SQL.claim_event, (key, now, now - ttl_seconds), retry=False)
        except _Reconnected:
            return True
        return count == 1

    def _execute(self, query: str, params: Sequence[Any]) -> tuple[list[tuple[Any, ...]], int]:
        with self._conn.cursor() as cursor:
            cursor.execute(query, tuple(params))
            rows = cursor.fetchall() if cursor.description else []
            return rows, cursor.rowcount

    def close(self) -> None:
        with self._lock:
            self._conn.close()
