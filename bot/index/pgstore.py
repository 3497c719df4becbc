"""The shared index in PostgreSQL with pgvector (INDEX_URL=postgresql://…): many replicas,
one set of builds, written by `opsbot ingest` from anywhere.

Tables (in the URL's search_path):
    opsbot_index_builds      one row per build: manifest, vocabulary, calibration, when made
    opsbot_index_active      the one active build; switched in one transaction
    opsbot_index_replicas    which build each serving replica uses, and when it last said so
    opsbot_index_embeddings  the embedding cache, by (model, content hash)
    opsbot_chunks_<build>, opsbot_words_<build>   a build's rows (bot/index/pgbuild.py)

A build is written in one transaction (all of it or nothing), then activated in another.
Replicas poll the active id every few seconds and swap the whole build at once. A build is
dropped when it is not active, no replica has reported it within LEASE_SECONDS, and it was
retired more than GRACE_SECONDS ago (questions in flight on it finish first).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

import numpy as np

from bot.index.manifest import REINGEST, IndexLoadError, Manifest
from bot.index.pgbuild import PgBuild, PgEmbeddingCache, tables, vector_literal
from bot.index.pgconn import Pool, redact
from bot.index.pghnsw import create_hnsw_index
from bot.index.store import NewBuild
from bot.index.vocabulary import Vocabulary

log = logging.getLogger(__name__)

SCHEMA_LOCK_ID = 7_020_018  # pg_advisory_xact_lock: concurrent first starts queue here
WRITER_LOCK_ID = 7_020_019  # pg_advisory_lock: one ingest at a time per database
SCHEMA = (
    "CREATE EXTENSION IF NOT EXISTS vector",
    "CREATE TABLE IF NOT EXISTS opsbot_index_builds (id text PRIMARY KEY, model text NOT NULL,"
    " dimension int NOT NULL, manifest jsonb NOT NULL, vocabulary jsonb NOT NULL,"
    " calibration jsonb, created_at timestamptz NOT NULL DEFAULT now(), retired_at timestamptz)",
    "CREATE TABLE IF NOT EXISTS opsbot_index_active (one boolean PRIMARY KEY DEFAULT true"
    " CHECK (one), build_id text NOT NULL REFERENCES opsbot_index_builds (id),"
    " activated_at timestamptz NOT NULL DEFAULT now())",
    "CREATE TABLE IF NOT EXISTS opsbot_index_replicas (replica text PRIMARY KEY,"
    " build_id text NOT NULL, seen_at timestamptz NOT NULL DEFAULT now())",
    "CREATE TABLE IF NOT EXISTS opsbot_index_embeddings (model text NOT NULL, key text NOT NULL,"
    " vector bytea NOT NULL, PRIMARY KEY (model, key))",
)


class DimensionMismatchError(IndexLoadError):
    exit_code = 2


class PgStore:
    """The `IndexStore` of bot/index/store.py on PostgreSQL + pgvector."""

    LEASE_SECONDS = 60.0
    GRACE_SECONDS = 120.0

    def __init__(self, url: str, exact_limit: int = 20_000) -> None:
        self.pool = Pool(url)
        self.location = redact(url)
        self.exact_limit = exact_limit
        self.pool.run(self._set_up)

    @staticmethod
    def _set_up(conn: Any) -> None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_ID,))
            for statement in SCHEMA:
                conn.execute(statement)

    def active_id(self) -> str | None:
        row = self.pool.run(
            lambda conn: conn.execute("SELECT build_id FROM opsbot_index_active").fetchone()
        )
        return row[0] if row else None

    def active_manifest(self) -> Manifest | None:
        sql = (
            "SELECT b.manifest FROM opsbot_index_builds b "
            "JOIN opsbot_index_active a ON a.build_id = b.id"
        )
        row = self.pool.run(lambda conn: conn.execute(sql).fetchone())
        return Manifest(**row[0]) if row else None

    def damaged(self, full: bool = False) -> list[str]:
        """A build is written in one transaction: the database has it whole or not at all."""
        return [] if self.active_id() else ["no active build"]

    def active_info(self) -> dict[str, Any] | None:
        """The active build's id, when it was built and activated (for /healthz)."""
        sql = (
            "SELECT b.id, extract(epoch FROM b.created_at), extract(epoch FROM a.activated_at) "
            "FROM opsbot_index_builds b JOIN opsbot_index_active a ON a.build_id = b.id"
        )
        row = self.pool.run(lambda conn: conn.execute(sql).fetchone())
        if not row:
            return None
        return {"id": row[0], "built_at": float(row[1]), "activated_at": float(row[2])}

    def write(self, build: NewBuild) -> str:
        """Store every row of a build in one transaction; it serves nobody until activated."""
        from bot.index.lexical import LexicalIndex

        manifest, dim = build.manifest, int(build.vectors.shape[1])
        self._refuse_other_dimension(manifest.model, dim)
        lexical = LexicalIndex.build(build.texts)
        exact = len(build.chunks) < self.exact_limit
        manifest.index = {"kind": "pgvector-" + ("exact" if exact else "hnsw"), "dim": dim}
        build_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        chunks_table, words_table = tables(build_id)

        def work(conn: Any) -> None:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(
                    "INSERT INTO opsbot_index_builds (id, model, dimension, manifest, vocabulary)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    (
                        build_id,
                        manifest.model,
                        dim,
                        json.dumps(asdict(manifest)),
                        json.dumps(build.vocabulary.to_json()),
                    ),
                )
                cur.execute(
                    f"CREATE TABLE {chunks_table} (chunk_id int PRIMARY KEY, chunk jsonb NOT NULL,"
                    " passage bytea NOT NULL, units bytea NOT NULL,"
                    f" embedding vector({dim}) NOT NULL)"
                )
                with cur.copy(f"COPY {chunks_table} FROM STDIN") as copy:
                    copy.set_types(["int4", "jsonb", "bytea", "bytea", "text"])
                    for i, chunk in enumerate(build.chunks):
                        vector = np.asarray(build.vectors[i], np.float32)
                        units = np.asarray(build.units[i], np.float16).reshape(-1, dim)
                        copy.write_row(
                            (
                                i,
                                asdict(chunk),  # a jsonb object, so SQL can read its path
                                vector.tobytes(),
                                units.tobytes(),
                                vector_literal(vector),
                            )
                        )
                cur.execute(
                    f"CREATE TABLE {words_table} (term text PRIMARY KEY, tid int NOT NULL,"
                    " df int NOT NULL, docs int[] NOT NULL, weights real[] NOT NULL)"
                )
                with cur.copy(f"COPY {words_table} FROM STDIN") as copy:
                    copy.set_types(["text", "int4", "int4", "int4[]", "float4[]"])
                    for term, tid in lexical.vocab.items():
                        start, end = int(lexical.indptr[tid]), int(lexical.indptr[tid + 1])
                        copy.write_row(
                            (
                                term,
                                tid,
                                end - start,
                                lexical.indices[start:end].tolist(),
                                lexical.data[start:end].tolist(),
                            )
                        )
                if not exact:
                    create_hnsw_index(cur, chunks_table, len(build.chunks), dim)
                cur.execute(f"ANALYZE {chunks_table}")

        self.pool.run(work)
        return build_id

    def _refuse_other_dimension(self, model: str, dim: int) -> None:
        sql = (
            "SELECT b.model, b.dimension FROM opsbot_index_builds b "
            "JOIN opsbot_index_active a ON a.build_id = b.id"
        )
        row = self.pool.run(lambda conn: conn.execute(sql).fetchone())
        if row and int(row[1]) != dim:
            raise DimensionMismatchError(
                f"the index at {self.location} holds {row[1]}-dimensional vectors from "
                f"{row[0]!r}, but {model!r} makes {dim}-dimensional ones; replicas still "
                "asking with the old model could not search it. Give the new model its own "
                "database or schema (INDEX_URL)"
            )

    def activate(self, build_id: str) -> None:
        """Make `build_id` the active build in one transaction, then drop unused builds."""

        def work(conn: Any) -> None:
            with conn.transaction():
                conn.execute("SELECT 1 FROM opsbot_index_builds WHERE id = %s", (build_id,))
                conn.execute(
                    "UPDATE opsbot_index_builds SET retired_at = now() WHERE id IN "
                    "(SELECT build_id FROM opsbot_index_active WHERE build_id <> %s)",
                    (build_id,),
                )
                conn.execute(
                    "INSERT INTO opsbot_index_active (one, build_id) VALUES (true, %s) "
                    "ON CONFLICT (one) DO UPDATE SET build_id = excluded.build_id, "
                    "activated_at = now()",
                    (build_id,),
                )
                conn.execute("SELECT pg_notify('opsbot_index', %s)", (build_id,))

        self.pool.run(work)
        self.remove_unused()

    def remove_unused(self) -> list[str]:
        """Drop builds no replica can still be reading (see the module docstring)."""
        sql = (
            "SELECT id FROM opsbot_index_builds b WHERE"
            " NOT EXISTS (SELECT 1 FROM opsbot_index_active a WHERE a.build_id = b.id)"
            " AND NOT EXISTS (SELECT 1 FROM opsbot_index_replicas r WHERE r.build_id = b.id"
            "  AND r.seen_at > now() - make_interval(secs => %s))"
            " AND coalesce(retired_at, created_at) < now() - make_interval(secs => %s)"
        )

        def work(conn: Any) -> list[str]:
            gone = []
            rows = conn.execute(sql, (self.LEASE_SECONDS, self.GRACE_SECONDS)).fetchall()
            for (build_id,) in rows:
                with conn.transaction():
                    for table in tables(build_id):
                        conn.execute(f"DROP TABLE IF EXISTS {table}")
                    conn.execute("DELETE FROM opsbot_index_builds WHERE id = %s", (build_id,))
                gone.append(build_id)
            conn.execute(
                "DELETE FROM opsbot_index_replicas"
                " WHERE seen_at < now() - make_interval(secs => %s)",
                (self.LEASE_SECONDS * 10,),
            )
            return gone

        gone = self.pool.run(work)
        if gone:
            log.info("removed %d unused index builds: %s", len(gone), ", ".join(gone))
        return gone

    def open(self, build_id: str | None = None, expected_model: str | None = None) -> PgBuild:
        sql = (
            "SELECT id, model, manifest, vocabulary, calibration FROM opsbot_index_builds"
            " WHERE id = coalesce(%s, (SELECT build_id FROM opsbot_index_active))"
        )
        row = self.pool.run(lambda conn: conn.execute(sql, (build_id,)).fetchone())
        if row is None:
            raise IndexLoadError(
                f"no index at {self.location}; run `opsbot ingest --index-url …` first"
            )
        found_id, model, manifest, vocabulary, calibration = row
        if expected_model is not None and model != expected_model:
            raise IndexLoadError(
                f"the index at {self.location} was built with model {model!r} but "
                f"EMBEDDING_MODEL is {expected_model!r}; {REINGEST}"
            )
        return PgBuild(
            self.pool, found_id, Manifest(**manifest), Vocabulary.from_json(vocabulary), calibration
        )

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """A session advisory lock on a connection of its own, held for the whole ingest."""
        conn = self.pool.connect()
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", (WRITER_LOCK_ID,))
            yield
        finally:
            conn.close()  # releases the lock, even if the unlock could not be sent

    def embedding_cache(self, model: str) -> PgEmbeddingCache:
        return PgEmbeddingCache(self.pool, model)

    def heartbeat(self, replica: str, build_id: str) -> None:
        self.pool.run(
            lambda conn: conn.execute(
                "INSERT INTO opsbot_index_replicas (replica, build_id) VALUES (%s, %s) "
                "ON CONFLICT (replica) DO UPDATE SET build_id = excluded.build_id, seen_at = now()",
                (replica, build_id),
            )
        )

    def leave(self, replica: str) -> None:
        """A replica shutting down lets go of its build at once."""
        self.pool.run(
            lambda conn: conn.execute(
                "DELETE FROM opsbot_index_replicas WHERE replica = %s", (replica,)
            )
        )

    def close(self) -> None:
        self.pool.close()
