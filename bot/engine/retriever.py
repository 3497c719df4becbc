"""Hybrid retrieval: dense (FAISS) and BM25 ranks fused with reciprocal rank fusion.

The fused rank decides the order; the dense cosine of each passage is kept because it
is the calibrated signal for "do we know anything about this at all".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bot.engine.types import Chunk
from bot.index.embedder import Embedder
from bot.index.store import LoadedIndex
from bot.index.vectors import search as dense_search

Mode = Literal["hybrid", "dense", "bm25"]
RRF_K = 60
NEAR_DUPLICATE = 0.97  # cosine between two passages above which one hides the other
PER_FILE = 1  # passages per file in the top-k while other files still have candidates


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    chunk: Chunk
    dense: float  # cosine between question and passage
    fused: float


@dataclass(frozen=True)
class Ranking:
    hits: list[Hit]
    best_dense: float  # best cosine among all candidates: the "do we know this" signal


class HybridRetriever:
    """Ranks chunks of one loaded index for a question."""

    def __init__(self, index: LoadedIndex, embedder: Embedder, pool: int = 40) -> None:
        self.index = index
        self.embedder = embedder
        self.pool = pool

    def _vectors(self, ids: list[int]) -> np.ndarray:
        return np.vstack([self.index.vectors.reconstruct(int(i)) for i in ids])

    def search(
        self, query: str, k: int, *, mode: Mode = "hybrid", also: Sequence[str] = ()
    ) -> Ranking:
        """Top-k distinct passages, best first.

        `also` holds alternative phrasings (a follow-up read with and without its thread);
        every phrasing's dense and BM25 rankings go into one fusion.
        """
        n = len(self.index.chunks)
        queries = [q for q in (query, *also) if q.strip()]
        if n == 0 or not queries:
            return Ranking([], 0.0)
        pool = min(max(self.pool, k * 4), n)
        qvecs = np.vstack([self.embedder.encode_query(q) for q in queries])
        scores: dict[int, float] = {}

        def fuse(ranked: Sequence[int]) -> None:
            for rank, cid in enumerate(ranked):
                scores[cid] = scores.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)

        if mode in ("hybrid", "dense"):
            sims, ids = dense_search(self.index.vectors, qvecs, pool)
            for row in ids:
                fuse([int(cid) for cid in row if cid >= 0])
        if mode in ("hybrid", "bm25"):
            for q in queries:
                fuse([cid for cid, _score in self.index.lexical.search(q, pool)])
        if not scores:
            return Ranking([], 0.0)
        ordered = sorted(scores, key=lambda cid: (-scores[cid], cid))
        candidates = ordered[: max(k * 3, k + 5)]
        vectors = self._vectors(candidates)
        dense_scores = dict(zip(candidates, (vectors @ qvecs.T).max(axis=1).tolist(), strict=True))
        best = max(dense_scores.values())
        if mode in ("hybrid", "dense"):  # the nearest passage anywhere, even if not shown
            best = max(best, float(sims[:, 0].max()))
        return Ranking(self._distinct(candidates, vectors, dense_scores, scores, k), best)

    def _distinct(
        self,
        candidates: list[int],
        vectors: np.ndarray,
        dense: dict[int, float],
        fused: dict[int, float],
        k: int,
    ) -> list[Hit]:
        """Drop near-copies of a better passage, and prefer spreading the top-k over files:
        a file's second passage only gets in when nothing from another file is left."""
        chunks = [self.index.chunks[cid] for cid in candidates]  # parsed once per query
        unique_rows: list[int] = []
        seen_text: set[str] = set()
        for row in range(len(candidates)):
            text_key = " ".join(chunks[row].text.lower().split())
            if text_key in seen_text:
                continue
            if unique_rows and float(np.max(vectors[unique_rows] @ vectors[row])) > NEAR_DUPLICATE:
                continue
            seen_text.add(text_key)
            unique_rows.append(row)
        per_file: dict[str, int] = {}
        chosen: list[int] = []
        for row in unique_rows:
            path = chunks[row].path
            if per_file.get(path, 0) < PER_FILE and len(chosen) < k:
                chosen.append(row)
                per_file[path] = per_file.get(path, 0) + 1
        for row in unique_rows:  # not enough variety: fill with the best of the rest
            if len(chosen) >= k:
                break
            if row not in chosen:
                chosen.append(row)
        chosen.sort()
        return [
            Hit(candidates[r], chunks[r], dense[candidates[r]], fused[candidates[r]])
            for r in chosen
        ]
