"""Embedding cache keyed by (model, content hash), so re-ingests embed only what changed."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def content_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """A small SQLite file of float32 vectors. Corruption degrades to a cold cache."""

    def __init__(self, path: Path, model: str) -> None:
        self.path = path
        self.model = model
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = self._open()
        except sqlite3.OperationalError as exc:  # full disk, I/O error: say it as the OS would
            self._remove_sidecars()
            raise _os_error(exc, path) from None
        except sqlite3.DatabaseError:
            path.unlink(missing_ok=True)  # a corrupt cache only costs re-embedding
            self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path)
        try:
            return self._set_up(db)
        except BaseException:
            db.close()
            raise

    @staticmethod
    def _set_up(db: sqlite3.Connection) -> sqlite3.Connection:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS embeddings ("
            " model TEXT NOT NULL, key TEXT NOT NULL, vector BLOB NOT NULL,"
            " PRIMARY KEY (model, key))"
        )
        return db

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):
            batch = unique[start : start + 500]
            marks = ",".join("?" * len(batch))
            rows = self._db.execute(
                f"SELECT key, vector FROM embeddings WHERE model = ? AND key IN ({marks})",
                [self.model, *batch],
            )
            for key, blob in rows:
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        """Remember vectors; a full disk only costs re-embedding next time, so it is not fatal."""
        rows = [(self.model, key, np.asarray(vec, np.float32).tobytes()) for key, vec in items]
        try:
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO embeddings (model, key, vector) VALUES (?, ?, ?)", rows
                )
        except sqlite3.OperationalError as exc:  # "database or disk is full", I/O errors
            log.warning("embedding cache not updated: %s", exc)

    def prune(self, keep: set[str]) -> int:
        """Drop vectors no current chunk uses, so the cache doesn't grow forever."""
        rows = self._db.execute("SELECT key FROM embeddings WHERE model = ?", [self.model])
        stale = [(self.model, key) for (key,) in rows if key not in keep]
        with self._db:
            self._db.executemany("DELETE FROM embeddings WHERE model = ? AND key = ?", stale)
        return len(stale)

    def close(self) -> None:
        """Close, leaving no -wal/-shm files behind even when a full disk stopped the final
        checkpoint: the cache may lose its newest entries, never its consistency (the main
        file is always a complete checkpoint), and ingest holds the index lock here."""
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()
        self._remove_sidecars()

    def _remove_sidecars(self) -> None:
        for suffix in ("-wal", "-shm"):
            self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)


def _os_error(exc: sqlite3.OperationalError, path: Path) -> OSError:
    """SQLite reports a full disk as "disk is full" or "disk I/O error"; name the cause."""
    try:
        full = os.statvfs(path.parent).f_bavail == 0
    except OSError:
        full = False
    code = errno.ENOSPC if full or "full" in str(exc) else errno.EIO
    return OSError(code, f"{os.strerror(code)} (embedding cache: {exc})", str(path))
