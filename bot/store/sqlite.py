"""The embedded default: one SQLite file in DATA_DIR, WAL mode, one connection behind a lock."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.errors import OpsbotError
from bot.store.base import SQLStore
from bot.store.sql import SCHEMA_VERSION, SQL, migrate_v1_to_v2_sqlite, schema


class SchemaError(OpsbotError, RuntimeError):
    """The database was written by a newer opsbot; refusing beats corrupting it."""


class SQLiteStore(SQLStore):
    """Writes are tiny, so one shared connection and a lock never contend for long."""

    dialect = "sqlite"

    def __init__(
        self, path: str | Path, *, store_questions: bool = True, retention_days: int = 0
    ) -> None:
        super().__init__(store_questions=store_questions, retention_days=retention_days)
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA busy_timeout=5000")
            with self._lock:
                self._set_up()
            self._conn.execute("PRAGMA foreign_keys=ON")
        except BaseException:
            self._conn.close()
            raise
        self.maybe_prune()

    def _set_up(self) -> None:
        """Create or migrate the schema in one transaction (another process may race us)."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(schema("sqlite")[0])
            row = conn.execute(SQL.get_version).fetchone()
            version = row[0] if row else None
            if version is not None and version > SCHEMA_VERSION:
                raise SchemaError(
                    f"{self.path} has schema version {version}; this opsbot knows {SCHEMA_VERSION}"
                )
            if version == 1:
                for statement in migrate_v1_to_v2_sqlite():
                    conn.execute(statement)
            for statement in schema("sqlite"):
                conn.execute(statement)
            if version is None:
                conn.execute(SQL.set_version, (SCHEMA_VERSION,))
            elif version < SCHEMA_VERSION:  # the new tables were created just above
                conn.execute(SQL.update_version, (SCHEMA_VERSION,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _run(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[tuple[Any, ...]], int]:
        with self._lock:
            cursor = self._conn.execute(sql, tuple(params))
            rows = cursor.fetchall() if cursor.description else []
            return rows, cursor.rowcount

    def journal_mode(self) -> str:
        with self._lock:
            return str(self._conn.execute("PRAGMA journal_mode").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()
