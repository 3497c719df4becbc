"""Stage 1 of ranking: dense (vector index) and BM25 candidates, fused with reciprocal rank fusion.

Recall is the job here: a wide pool of candidates, each with its passage cosine and BM25
score, for the finer second stage (`bot/engine/rerank.py`) to order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bot.engine.scope import Masks
from bot.index.embedder import Embedder
from bot.index.store import Build

Mode = Literal["hybrid", "dense", "bm25"]
RRF_K = 60
POOL = 30  # candidates from each ranker and phrasing
RERANK_DEPTH = 24  # fused candidates handed to the second stage


@dataclass(frozen=True)
class Candidate:
    chunk_id: int
    dense: float  # best cosine between a phrasing and the passage vector
    bm25: float  # best BM25 score over phrasings (0 when BM25 did not retrieve it)
    fused: float  # reciprocal rank fusion score


@dataclass(frozen=True)
class Pool:
    candidates: list[Candidate]  # by fused score, best first
    queries: np.ndarray  # (phrasings, d) query vectors, reused by the second stage
    weights: np.ndarray  # (phrasings,) how much each phrasing counts, summing to 1
    best_dense: float  # nearest passage anywhere, even if not in the pool
    phrasings: tuple[str, ...] = ()  # the texts behind `queries`, in order

    def vector_of(self, phrasing: str) -> np.ndarray | None:
        """The query vector already computed for this phrasing, if it was searched."""
        if phrasing in self.phrasings:
            return self.queries[self.phrasings.index(phrasing)]
        return None


class HybridRetriever:
    """Finds candidate chunks of one loaded index for a question."""

    def __init__(self, index: Build, embedder: Embedder) -> None:
        self.index = index
        self.embedder = embedder
        self.masks = Masks(index)  # per scope: which chunks a question may draw on

    def candidates(
        self,
        query: str,
        *,
        mode: Mode = "hybrid",
        also: Sequence[str] = (),
        also_weight: float = 0.0,
        lexical: str = "",
        allowed: np.ndarray | None = None,
    ) -> Pool:
        """Fused candidates for `query` and alternative phrasings (`also`), which share
        `also_weight` of the say in the passage scores. `lexical`, if given, is what BM25
        searches in place of `query`: the same question with the docs' own spellings
        beside it, which help word matching but would blur the question's vector.
        `allowed` (a bool per chunk) masks candidates inside both searches, before any
        ranking, so every candidate is one the question may be answered from."""
        n = len(self.index.chunks)
        queries = [q for q in dict.fromkeys((query, *also)) if q.strip()]
        dim = self.index.dimension
        if n == 0 or not queries or (allowed is not None and not allowed.any()):
            return Pool([], np.zeros((0, dim), np.float32), np.zeros(0), 0.0)
        weights = np.full(len(queries), also_weight / max(len(queries) - 1, 1))
        weights[0] = 1.0 - also_weight if len(queries) > 1 else 1.0
        qvecs = np.vstack([self.embedder.encode_query(q) for q in queries])
        pool = min(POOL, n)
        fused: dict[int, float] = {}
        bm25: dict[int, float] = {}
        best = 0.0

        def fuse(ranked: Sequence[int]) -> None:
            for rank, cid in enumerate(ranked):
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)

        if mode in ("hybrid", "dense"):
            sims, ids = self.index.search_vectors(qvecs, pool, allowed)
            best = float(sims[:, 0].max()) if sims.size else 0.0
            for row in ids:
                fuse([int(cid) for cid in row if cid >= 0])
        if mode in ("hybrid", "bm25"):
            for q in [lexical or queries[0], *queries[1:]]:
                hits = self.index.search_words(q, pool, allowed)
                fuse([cid for cid, _ in hits])
                for cid, score in hits:
                    bm25[cid] = max(bm25.get(cid, 0.0), score)
        order = sorted(fused, key=lambda cid: (-fused[cid], cid))[:RERANK_DEPTH]
        if not order:
            return Pool([], qvecs, weights, best, tuple(queries))
        self.index.prefetch(order)  # passages, units and vectors of the pool together
        vectors = self.index.passage_vectors(order)
        per_phrasing = vectors @ qvecs.T
        best = max(best, float(per_phrasing.max()))
        dense = per_phrasing @ weights
        out = [
            Candidate(cid, float(d), bm25.get(cid, 0.0), fused[cid])
            for cid, d in zip(order, dense.tolist(), strict=True)
        ]
        return Pool(out, qvecs, weights, best, tuple(queries))
