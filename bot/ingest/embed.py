"""Embed: passage vectors and their units' vectors, only for what the cache lacks.

The ingest's embedding stage (bot/ingest/pipeline.py runs it). Unit vectors cost no extra
model time: they are pooled from the passage's own forward pass (late chunking).
"""

from __future__ import annotations

import numpy as np

from bot.documents import Chunk
from bot.index.cache import content_key
from bot.index.embedder import BATCH_SIZE, Embedder
from bot.index.store import EmbeddingStore
from bot.ingest.progress import Notify, Progress
from bot.ingest.units import split_units

UNIT_VECTORS = "late-units/1"  # cache-key namespace: a passage vector plus its unit vectors


def unit_spans(chunk: Chunk) -> list[tuple[int, int]]:
    """Character spans of the chunk's answer units inside its embed_text."""
    base = len(chunk.embed_text) - len(chunk.text)
    return [(base + u.start, base + u.end) for u in split_units(chunk.text)]


GROUP = 32 * BATCH_SIZE  # passages embedded, cached and released per step


def embed_with_cache(
    chunks: list[Chunk],
    cache: EmbeddingStore,
    embedder: Embedder,
    show_progress: bool,
    notify: Notify | None = None,
) -> tuple[np.ndarray, list[np.ndarray], int]:
    """Passage vectors (float32) and each chunk's unit vectors (float16, as the build stores
    them) for all chunks, embedding only those the cache lacks.

    One cache entry per passage holds its vector (row 0) and its units' vectors. Work is
    streamed in groups of GROUP passages: each group is written to the cache (committed, so
    an interrupted ingest resumes where it stopped) and placed in the result, so memory
    holds one copy of the vectors, never the per-passage intermediates of the whole run.
    """
    keys = [content_key(f"{UNIT_VECTORS}\n{c.embed_text}") for c in chunks]
    rows_of: dict[str, list[int]] = {}
    for row, key in enumerate(keys):
        rows_of.setdefault(key, []).append(row)
    placed = _Placed(len(chunks))
    unique = list(rows_of)
    for start in range(0, len(unique), GROUP):
        for key, flat in cache.get_many(unique[start : start + GROUP]).items():
            rows = rows_of[key]  # rows = 1 passage + its units
            placed.put(rows, flat.reshape(1 + len(split_units(chunks[rows[0]].text)), -1))
    missing = [k for k in unique if not placed.has(rows_of[k][0])]
    if missing:
        # the embedder's own order (longest first, stable), so batches are exactly as if
        # every passage went in one call
        todo = [chunks[rows_of[k][0]] for k in missing]
        order = np.argsort([-len(c.embed_text) for c in todo], kind="stable")
        missing, todo = [missing[i] for i in order], [todo[i] for i in order]
        # weigh each passage by its length (capped where the model truncates), so the ETA
        # holds for the short tail too
        weights = [min(len(c.embed_text), 1200) + 100 for c in todo]
        done_work = np.concatenate([[0.0], np.cumsum(weights)])
        with Progress(
            len(missing),
            "Embedding",
            bar=show_progress,
            notify=notify,
            warmup="" if embedder.loaded else "loading model",
            cost=lambda n: float(done_work[n]),
        ) as bar:
            for start in range(0, len(todo), GROUP):
                group = todo[start : start + GROUP]
                passages, units = embedder.encode_passages(
                    [c.embed_text for c in group],
                    [unit_spans(c) for c in group],
                    progress=bar.update,
                )
                group_keys = missing[start : start + GROUP]
                cache.put_many(
                    (key, np.vstack([p[None, :], u]))
                    for key, p, u in zip(group_keys, passages, units, strict=True)
                )
                for key, p, u in zip(group_keys, passages, units, strict=True):
                    placed.put(rows_of[key], p, u)
    cache.prune(set(rows_of))
    matrix = placed.matrix() if chunks else np.zeros((0, embedder.dimension), np.float32)
    return matrix, placed.units, len(missing)


class _Placed:
    """The result of embed_with_cache, filled as vectors arrive (from the cache or fresh)."""

    def __init__(self, count: int) -> None:
        self._matrix: np.ndarray | None = None
        self.count = count
        self.units: list[np.ndarray] = [np.zeros((0, 0), np.float16)] * count
        self._done = np.zeros(count, dtype=bool)

    def has(self, row: int) -> bool:
        return bool(self._done[row])

    def put(self, rows: list[int], passage: np.ndarray, units: np.ndarray | None = None) -> None:
        """`passage` is the (d,) vector, or with `units` None, the (1 + units, d) cache entry."""
        if units is None:
            passage, units = passage[0], passage[1:]
        if self._matrix is None:
            self._matrix = np.zeros((self.count, passage.shape[-1]), dtype=np.float32)
        half = units.astype(np.float16)  # a copy: the cache blob / batch output is released
        for row in rows:
            self._matrix[row] = passage
            self.units[row] = half
            self._done[row] = True

    def matrix(self) -> np.ndarray:
        assert self._matrix is not None and self._done.all(), "every row is placed"
        return self._matrix
