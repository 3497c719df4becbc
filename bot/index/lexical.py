"""BM25 lexical index: bm25s builds and stores the score matrix, we score queries.

bm25s precomputes every (term, doc) BM25 contribution into a CSC matrix (one
column per term).  Its numpy retrieval path allocates a dense score vector and
runs ``np.add.at`` over every posting, which is slow at 1M chunks without numba
(not installed here).  ``LexicalIndex.search`` instead reads only the query
terms' columns and ranks only the documents that occur in them.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
from bm25s.stopwords import STOPWORDS_EN_PLUS

__all__ = ["LexicalIndex", "LexicalIndexError", "tokenize"]

FORMAT_VERSION = 1
_META_FILE = "lexical.json"
# bm25s's own file names (BM25.save defaults), so bm25s.BM25.load can open ours too.
_DATA, _INDICES, _INDPTR = "data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy"
_VOCAB, _PARAMS = "vocab.index.json", "params.index.json"

# NLTK's English list minus words that carry meaning in ops text
# ("docker compose up", "scale down", "--all-namespaces", "out of memory").
_KEEP = {"up", "down", "off", "out", "all"}
STOPWORDS: frozenset[str] = frozenset(STOPWORDS_EN_PLUS) - _KEEP

# A "word" is a run of letters/digits; runs joined by . / _ : - form a compound
# ("ci/cd", "docker-compose", "nginx:1.25", "max_retries").
_WORD_RE = re.compile(r"[^\W_]+(?:[./_:-][^\W_]+)*")
_SPLIT_RE = re.compile(r"[./_:-]")
_MAX_COMPOUND = 64  # longer compounds are URLs/paths: keep only their parts

# Query-time pruning (see LexicalIndex.search), tuned with scripts/bench_scale.py
# at 1M docs: candidates come from the rarest terms up to this many postings...
_CANDIDATE_RATIO, _MIN_CANDIDATES = 0.02, 4096
# ...and if even the rarest term is in this share of docs, every term generates them.
_DENSE_RATIO = 0.25
_UNIQUE_RATIO = 1 / 32  # merge candidates by sorting below this share, else bincount
_IMPACT = "max_impact.lexical.npy"  # per-term largest BM25 contribution


class LexicalIndexError(Exception):
    """Raised when a saved lexical index is missing, corrupt or inconsistent."""


def _read(directory: Path, name: str, reader: Callable[[Path], Any]) -> Any:
    """Read one index file, turning any failure into an error naming that file."""
    path = directory / name
    try:
        return reader(path)
    except Exception as exc:  # OSError, JSON and numpy format errors alike
        raise LexicalIndexError(f"cannot read lexical index file {path}: {exc}") from exc


def _max_impact(data: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Largest contribution of each term to any doc: the pruning bound in search."""
    out = np.zeros(max(indptr.shape[0] - 1, 0), dtype=np.float32)
    nonempty = np.flatnonzero(np.diff(indptr) > 0)
    if nonempty.size:
        out[nonempty] = np.maximum.reduceat(data, indptr[nonempty])
    return out


def tokenize(text: str) -> list[str]:
    """Lowercase and split into search terms; same function for docs and queries.

    A compound such as ``ci/cd`` yields its parts (``ci``, ``cd``) and itself, so
    a query written either way matches. Stopwords are dropped; there is no stemmer
    (PyStemmer is not a dependency), so "deployments" does not match "deployment".
    """
    out: list[str] = []
    for match in _WORD_RE.finditer(text.lower()):
        word = match.group()
        parts = _SPLIT_RE.split(word)
        if len(parts) == 1:
            if word not in STOPWORDS:
                out.append(word)
            continue
        out.extend(p for p in parts if p not in STOPWORDS)
        if len(word) <= _MAX_COMPOUND:
            out.append(word)
    return out


class LexicalIndex:
    """BM25 (Lucene variant, k1=1.5, b=0.75) over chunks; chunk id = position in texts."""

    def __init__(
        self,
        vocab: dict[str, int],
        data: np.ndarray,
        indices: np.ndarray,
        indptr: np.ndarray,
        num_docs: int,
        max_impact: np.ndarray | None = None,
    ) -> None:
        self.vocab = vocab
        self.data = data  # float32 BM25 contribution per posting
        self.indices = indices  # int32 doc id per posting, sorted within a term
        self.indptr = indptr  # term t's postings are [indptr[t], indptr[t + 1])
        self.num_docs = num_docs
        self.max_impact = _max_impact(data, indptr) if max_impact is None else max_impact

    def __len__(self) -> int:
        return self.num_docs

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        """Tokenise ``texts`` and precompute BM25 contributions with bm25s."""
        vocab: dict[str, int] = {}
        # Token ids are shared int objects from ``vocab``: ~8 bytes per token.
        corpus_ids = [[vocab.setdefault(t, len(vocab)) for t in tokenize(text)] for text in texts]
        if not vocab:  # no documents, or nothing but stopwords
            empty_i = np.zeros(0, dtype=np.int32)
            indptr = np.zeros(1, dtype=np.int64)
            return cls({}, np.zeros(0, dtype=np.float32), empty_i, indptr, len(corpus_ids))
        bm25 = bm25s.BM25(method="lucene", k1=1.5, b=0.75, backend="numpy")
        bm25.index((corpus_ids, vocab), create_empty_token=False, show_progress=False)
        scores = bm25.scores
        return cls(vocab, scores["data"], scores["indices"], scores["indptr"], len(corpus_ids))

    def _term_ids(self, query: str) -> np.ndarray:
        """Known query terms, each once (repeating a word should not boost it)."""
        ids = dict.fromkeys(self.vocab[t] for t in tokenize(query) if t in self.vocab)
        return np.fromiter(ids, dtype=np.int64, count=len(ids))

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Top ``k`` (chunk id, BM25 score), best first; ties broken by lower id.

        Unknown, empty or stopword-only queries return ``[]``; only documents that
        contain at least one query term are returned, so the list may be short.
        Exact, but prunes like MaxScore: documents are first drawn from the rare
        terms' postings only, and common terms (low idf, e.g. "docker" in an ops
        corpus) are merely looked up for those candidates, unless their best
        possible contribution could still lift another document into the top k.
        """
        terms = self._term_ids(query)
        if k <= 0 or terms.size == 0:
            return []
        sizes = self.indptr[terms + 1] - self.indptr[terms]
        terms = terms[np.argsort(sizes, kind="stable")]  # rarest first
        starts, ends = self.indptr[terms], self.indptr[terms + 1]
        cum = np.cumsum(ends - starts)
        # rest_bound[m]: most that terms m.. can add to a doc outside the candidates
        bounds = self.max_impact[terms].astype(np.float64)
        rest_bound = np.concatenate((np.cumsum(bounds[::-1])[::-1], [0.0]))
        budget = max(_MIN_CANDIDATES, _CANDIDATE_RATIO * self.num_docs)
        m = max(1, int(np.searchsorted(cum, budget, side="right")))
        if cum[0] > _DENSE_RATIO * self.num_docs:
            m = terms.size  # every term is common: binary searches would cost more
        while True:
            docs, scores = self._score_candidates(starts, ends, m)
            kth = np.partition(scores, docs.size - k)[docs.size - k] if docs.size >= k else -1.0
            if m == terms.size or rest_bound[m] < kth:
                break
            m += 1  # bound too loose: let the next rarest term add candidates too
        if docs.size > k:
            top = np.argpartition(-scores, k - 1)[:k]
            docs, scores = docs[top], scores[top]
        order = np.lexsort((docs, -scores))
        return [(int(docs[i]), float(scores[i])) for i in order if docs[i] < self.num_docs]

    def _score_candidates(
        self, starts: np.ndarray, ends: np.ndarray, m: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Full scores of the docs in the first ``m`` terms' postings (sorted by doc id)."""
        spans = [slice(s, e) for s, e in zip(starts[:m].tolist(), ends[:m].tolist(), strict=True)]
        if m == 1:
            docs = np.asarray(self.indices[spans[0]])
            scores = self.data[spans[0]].astype(np.float64)
        else:
            all_docs = np.concatenate([self.indices[sl] for sl in spans])
            weights = np.concatenate([self.data[sl] for sl in spans])
            if all_docs.size < _UNIQUE_RATIO * self.num_docs:  # sort the few postings
                docs, inverse = np.unique(all_docs, return_inverse=True)
                scores = np.bincount(inverse, weights=weights, minlength=docs.size)
            else:  # a pass over all docs is cheaper than sorting this many postings
                dense = np.bincount(all_docs, weights=weights, minlength=self.num_docs)
                docs = np.flatnonzero(dense)
                scores = dense[docs]
        for s, e in zip(starts[m:].tolist(), ends[m:].tolist(), strict=True):
            postings = self.indices[s:e]  # sorted doc ids: binary search the candidates
            pos = np.minimum(np.searchsorted(postings, docs), e - s - 1)
            hit = postings[pos] == docs
            scores[hit] += self.data[s + pos[hit]]
        return docs, scores

    def save(self, directory: Path) -> None:
        """Write bm25s's files plus ours into a temp dir, then swap it into place."""
        directory = Path(directory)
        tmp, old = (
            directory.with_name(directory.name + ".tmp"),
            directory.with_name(directory.name + ".old"),
        )
        for stale in (tmp, old):
            shutil.rmtree(stale, ignore_errors=True)
        bm25 = bm25s.BM25(method="lucene", k1=1.5, b=0.75, backend="numpy")
        bm25.scores = {
            "data": self.data,
            "indices": self.indices,
            "indptr": self.indptr,
            "num_docs": self.num_docs,
        }
        bm25.vocab_dict = self.vocab
        bm25.nonoccurrence_array = None  # only set by index(); save() reads it
        bm25.save(str(tmp), show_progress=False)
        np.save(tmp / _IMPACT, self.max_impact, allow_pickle=False)
        meta = {
            "format_version": FORMAT_VERSION,
            "num_docs": self.num_docs,
            "vocab_size": len(self.vocab),
            "num_postings": int(self.indices.shape[0]),
            "stopwords": "nltk-en-minus-keep",
        }
        (tmp / _META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        if directory.exists():
            directory.rename(old)
        tmp.rename(directory)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path, mmap: bool = False) -> LexicalIndex:
        """Load and validate a saved index; any defect raises ``LexicalIndexError``.

        ``mmap=True`` maps the postings read-only instead of copying them, which
        keeps them out of the process's anonymous memory on large corpora.
        """
        directory = Path(directory)
        if not (directory / _META_FILE).is_file():
            raise LexicalIndexError(f"no lexical index at {directory} (missing {_META_FILE})")
        mode = "r" if mmap else None
        meta = _read(directory, _META_FILE, lambda p: json.loads(p.read_text(encoding="utf-8")))
        if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
            raise LexicalIndexError(f"{directory / _META_FILE}: unsupported or damaged metadata")
        vocab = _read(directory, _VOCAB, lambda p: json.loads(p.read_text(encoding="utf-8")))
        params = _read(directory, _PARAMS, lambda p: json.loads(p.read_text(encoding="utf-8")))
        data, indices, indptr, impact = (
            _read(directory, name, lambda p: np.load(p, mmap_mode=mode, allow_pickle=False))
            for name in (_DATA, _INDICES, _INDPTR, _IMPACT)
        )
        try:
            index = cls(
                {str(t): int(i) for t, i in vocab.items()},
                data,
                indices,
                indptr,
                int(meta["num_docs"]),
                np.asarray(impact),
            )
            problems = index._problems(check_doc_ids=not mmap)
            if params.get("num_docs") != index.num_docs or params.get("method") != "lucene":
                problems.append(f"{_PARAMS} does not match {_META_FILE}")
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            problems = [f"{type(exc).__name__}: {exc}"]
        if problems:
            raise LexicalIndexError(f"corrupt lexical index at {directory}: {'; '.join(problems)}")
        return index

    def _problems(self, check_doc_ids: bool) -> list[str]:
        """Cheap structural checks so a damaged index fails at load, not mid-query."""
        n_terms, n_post = len(self.vocab), self.data.shape[0]
        problems = []
        if self.data.ndim != 1 or self.indices.shape != self.data.shape:
            problems.append("data/indices length mismatch")
        if self.indptr.shape != (n_terms + 1,):
            problems.append(f"indptr has {self.indptr.shape[0]} entries for {n_terms} terms")
        elif n_terms and (self.indptr[0] != 0 or self.indptr[-1] != n_post):
            problems.append("indptr does not span the postings")
        elif np.any(np.diff(self.indptr) < 0):
            problems.append("indptr is not monotonic")
        if self.max_impact.shape != (n_terms,):
            problems.append(f"{_IMPACT} has {self.max_impact.shape} entries for {n_terms} terms")
        if n_terms and sorted(self.vocab.values()) != list(range(n_terms)):
            problems.append("vocabulary ids are not 0..n-1")
        out_of_range = n_post and (self.indices.min() < 0 or self.indices.max() >= self.num_docs)
        if check_doc_ids and out_of_range:
            problems.append("posting doc ids out of range")
        return problems
