"""One build in PostgreSQL, as the engine reads it (the `Build` of bot/index/store.py).

A build's rows live in its own two tables, named after it and never changed once written:
    opsbot_chunks_<build>  chunk id, the chunk (jsonb), its passage vector (float32 bytes),
                           its answer units' vectors (float16 bytes), `embedding vector(d)`
                           with an HNSW index (exact scans below EXACT_INDEX_LIMIT)
    opsbot_words_<build>   term (and its id at ingest), document frequency, and postings:
                           chunk ids and each one's BM25 contribution, as the local index has
so every search names one build's tables: a question cannot mix two builds. Vector search
is pgvector's; word search adds up BM25 contributions inside the database.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

import numpy as np

from bot.documents import Chunk
from bot.index.lexical import tokenize
from bot.index.manifest import Manifest
from bot.index.pgconn import Pool
from bot.index.store import WordStats
from bot.index.vocabulary import Vocabulary

CACHED_ROWS = 4096  # chunks kept per build: a question's candidates, the Home tab's samples
FILTERED_EXACT_LIMIT = 20_000  # a mask this small is scored exactly, without the index
_BUILD_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")


def tables(build_id: str) -> tuple[str, str]:
    """(chunks table, words table) of a build; ids are checked, as they become identifiers."""
    if not _BUILD_ID.match(build_id):
        raise ValueError(f"not a build id: {build_id!r}")
    suffix = build_id.replace("-", "_")
    return f"opsbot_chunks_{suffix}", f"opsbot_words_{suffix}"


def vector_literal(vector: np.ndarray) -> str:
    """pgvector's text form; float32 values printed in full, so they read back exactly."""
    return "[" + ",".join(map(str, np.asarray(vector, np.float32).tolist())) + "]"


class _Row:
    __slots__ = ("chunk", "passage", "units")

    def __init__(self, chunk: Chunk, passage: np.ndarray, units: np.ndarray) -> None:
        self.chunk, self.passage, self.units = chunk, passage, units


class PgBuild:
    """A build read from PostgreSQL; only what questions touch is fetched, and kept."""

    def __init__(
        self,
        pool: Pool,
        build_id: str,
        manifest: Manifest,
        vocabulary: Vocabulary,
        calibration: dict[str, Any] | None,
    ) -> None:
        self.pool = pool
        self.build_id = build_id
        self.manifest = manifest
        self.vocabulary = vocabulary
        self._calibration = calibration
        self._chunks_table, self._words_table = tables(build_id)
        self._rows: OrderedDict[int, _Row] = OrderedDict()
        self._lock = threading.Lock()
        self.chunks = PgChunks(self)
        self.units = PgUnits(self)

    @property
    def dimension(self) -> int:
        return int(self.manifest.dimension)

    @property
    def path(self) -> str:  # what logs and /healthz print for a build
        return self.build_id

    def search_vectors(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        q = np.asarray(queries, np.float32)
        q = q[None, :] if q.ndim == 1 else q
        scores = np.full((len(q), max(k, 0)), -np.inf, dtype=np.float32)
        ids = np.full((len(q), max(k, 0)), -1, dtype=np.int64)
        only = _allowed_ids(allowed)
        want = k if only is None else min(k, len(only))
        indexed = self.manifest.index.get("kind") == "pgvector-hnsw"
        exact = self._nearest_sql("WHERE chunk_id = ANY(%s) ", by_index=False)
        if only is None:
            sql = self._nearest_sql("", by_index=True)
        else:  # few allowed: read just those rows; many: the index, then check the count
            few = not indexed or len(only) <= FILTERED_EXACT_LIMIT
            sql = self._nearest_sql("WHERE chunk_id = ANY(%s) ", by_index=not few)

        def work(conn: Any) -> list[list[tuple[int, float]]]:
            out = []
            for row in q:
                literal = vector_literal(row)
                args = (literal, literal, k) if only is None else (literal, only, literal, k)
                found = conn.execute(sql, args).fetchall()
                if only is not None and len(found) < want:
                    # pgvector 0.6 filters an HNSW scan's ef_search candidates afterwards,
                    # so a selective mask can leave fewer than k: search those rows exactly
                    found = conn.execute(exact, args).fetchall()
                out.append(found)
            return out

        for i, found in enumerate(self.pool.run(work) if k > 0 else []):
            for j, (cid, score) in enumerate(found):
                ids[i, j], scores[i, j] = cid, score
        return scores, ids

    def _nearest_sql(self, where: str, *, by_index: bool) -> str:
        """Nearest first by inner product; `by_index=False` orders by an expression the
        HNSW index cannot serve, so PostgreSQL scores every (allowed) row exactly."""
        order = (
            "embedding <#> %s::vector" if by_index else "(embedding <#> %s::vector) + 0, chunk_id"
        )
        return (
            f"SELECT chunk_id, -(embedding <#> %s::vector) FROM {self._chunks_table} "
            f"{where}ORDER BY {order} LIMIT %s"
        )

    def search_words(
        self, text: str, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        terms = list(dict.fromkeys(tokenize(text)))
        if k <= 0 or not terms:
            return []
        only = _allowed_ids(allowed)
        where = "" if only is None else "AND u.doc = ANY(%s) "
        sql = (
            f"SELECT u.doc, sum(u.w)::real AS score FROM {self._words_table} t, "
            "unnest(t.docs, t.weights) AS u(doc, w) WHERE t.term = ANY(%s) "
            f"{where}GROUP BY u.doc ORDER BY score DESC, u.doc LIMIT %s"
        )
        args = (terms, k) if only is None else (terms, only, k)
        rows = self.pool.run(lambda conn: conn.execute(sql, args).fetchall())
        return [(int(doc), float(score)) for doc, score in rows]

    def chunk_paths(self) -> list[str]:
        """Paths only: the rows' texts and vectors stay in the database."""
        sql = f"SELECT chunk->>'path' FROM {self._chunks_table} ORDER BY chunk_id"
        rows = self.pool.run(lambda conn: conn.execute(sql).fetchall())
        return [path for (path,) in rows]

    def passage_vectors(self, chunk_ids: Sequence[int]) -> np.ndarray:
        if not len(chunk_ids):
            return np.zeros((0, self.dimension), np.float32)
        rows = self._fetch(chunk_ids)
        return np.vstack([rows[int(i)].passage for i in chunk_ids])

    def prefetch(self, chunk_ids: Sequence[int]) -> None:
        self._fetch(chunk_ids)

    def row(self, chunk_id: int) -> _Row:
        return self._fetch([chunk_id])[int(chunk_id)]

    def _fetch(self, chunk_ids: Iterable[int]) -> dict[int, _Row]:
        wanted = [int(i) for i in chunk_ids]
        with self._lock:
            found = {i: self._rows[i] for i in wanted if i in self._rows}
            for i in found:
                self._rows.move_to_end(i)
        missing = [i for i in dict.fromkeys(wanted) if i not in found]
        if missing:
            sql = (
                f"SELECT chunk_id, chunk, passage, units FROM {self._chunks_table} "
                "WHERE chunk_id = ANY(%s)"
            )
            rows = self.pool.run(lambda conn: conn.execute(sql, (missing,)).fetchall())
            d = self.dimension
            with self._lock:
                for cid, chunk, passage, units in rows:
                    row = _Row(
                        Chunk(**(chunk if isinstance(chunk, dict) else json.loads(chunk))),
                        np.frombuffer(passage, dtype=np.float32),
                        np.frombuffer(units, dtype=np.float16).reshape(-1, d).astype(np.float32),
                    )
                    self._rows[int(cid)] = found[int(cid)] = row
                while len(self._rows) > CACHED_ROWS:
                    self._rows.popitem(last=False)
        absent = [i for i in wanted if i not in found]
        if absent:
            raise IndexError(f"chunk {absent[0]} is not in build {self.build_id}")
        return found

    def word_stats(self) -> WordStats:
        sql = f"SELECT term, df FROM {self._words_table} ORDER BY tid"  # the local order
        rows = self.pool.run(lambda conn: conn.execute(sql).fetchall())
        return WordStats(self.manifest.chunk_count, {term: int(df) for term, df in rows})

    def calibration(self) -> dict[str, Any] | None:
        return self._calibration

    def save_calibration(self, data: dict[str, Any]) -> None:
        sql = "UPDATE opsbot_index_builds SET calibration = %s WHERE id = %s"
        self.pool.run(lambda conn: conn.execute(sql, (json.dumps(data), self.build_id)))
        self._calibration = data


class PgChunks(Sequence[Chunk]):
    """The build's chunks by id, fetched on demand (and together, by `PgBuild.prefetch`)."""

    def __init__(self, build: PgBuild) -> None:
        self._build = build

    def __len__(self) -> int:
        return int(self._build.manifest.chunk_count)

    @overload
    def __getitem__(self, i: int) -> Chunk: ...

    @overload
    def __getitem__(self, i: slice) -> list[Chunk]: ...

    def __getitem__(self, i: int | slice) -> Chunk | list[Chunk]:
        if isinstance(i, slice):
            ids = list(range(len(self)))[i]
            rows = self._build._fetch(ids)
            return [rows[j].chunk for j in ids]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._build.row(i).chunk

    def __iter__(self) -> Iterator[Chunk]:
        for start in range(0, len(self), 1000):
            yield from self[start : start + 1000]


class PgUnits:
    def __init__(self, build: PgBuild) -> None:
        self._build = build

    def of(self, chunk_id: int) -> np.ndarray:
        return self._build.row(chunk_id).units


class PgEmbeddingCache:
    """The embedding cache beside the builds: any machine's re-ingest reuses its vectors."""

    def __init__(self, pool: Pool, model: str) -> None:
        self.pool, self.model = pool, model

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        unique = list(dict.fromkeys(keys))
        sql = "SELECT key, vector FROM opsbot_index_embeddings WHERE model = %s AND key = ANY(%s)"
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(unique), 5000):
            batch = unique[start : start + 5000]

            def work(conn: Any, batch: list[str] = batch) -> list[Any]:
                return conn.execute(sql, (self.model, batch)).fetchall()

            rows = self.pool.run(work)
            found.update((key, np.frombuffer(blob, dtype=np.float32)) for key, blob in rows)
        return found

    def put_many(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        rows = [(self.model, key, np.asarray(v, np.float32).tobytes()) for key, v in items]

        def work(conn: Any) -> None:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(
                    "CREATE TEMP TABLE incoming (LIKE opsbot_index_embeddings) ON COMMIT DROP"
                )
                with cur.copy("COPY incoming (model, key, vector) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                cur.execute(
                    "INSERT INTO opsbot_index_embeddings SELECT * FROM incoming "
                    "ON CONFLICT (model, key) DO NOTHING"
                )

        if rows:
            self.pool.run(work)

    def prune(self, keep: set[str]) -> int:
        """Drop this model's vectors no chunk of the new build uses."""

        def work(conn: Any) -> int:
            keys = conn.execute(
                "SELECT key FROM opsbot_index_embeddings WHERE model = %s", (self.model,)
            ).fetchall()
            stale = [key for (key,) in keys if key not in keep]
            conn.execute(
                "DELETE FROM opsbot_index_embeddings WHERE model = %s AND key = ANY(%s)",
                (self.model, stale),
            )
            return len(stale)

        return self.pool.run(work)

    def close(self) -> None:
        """The pool belongs to the store."""


def _allowed_ids(allowed: np.ndarray | None) -> list[int] | None:
    """The chunk ids a bool-per-chunk mask lets through (None: no mask, all chunks)."""
    if allowed is None:
        return None
    return [int(i) for i in np.flatnonzero(allowed)]
