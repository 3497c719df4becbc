"""BM25 lexical index: bm25s builds and stores the score matrix; we plan the queries.

bm25s precomputes every (term, doc) BM25 contribution into a CSC matrix (one
column per term).  Without numba (not installed), its retrieval adds every
posting of every query term into a dense n-doc vector and partitions all n,
which is what a common word costs at 1M chunks.  ``LexicalIndex.search`` gives
the same scores but scores only rare terms' docs when a bound allows it.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import bm25s
import numpy as np
from bm25s.stopwords import STOPWORDS_EN_PLUS

from bot.errors import OpsbotError

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
_WORD_RE = WORD_RE = re.compile(r"[^\W_]+(?:[./_:-][^\W_]+)*")  # WORD_RE: one word
_SPLIT_RE = re.compile(r"[./_:-]")
_MAX_COMPOUND = 64  # longer compounds are URLs/paths: keep only their parts

# Query-time plan (LexicalIndex.search), tuned at 1M docs with scripts/bench_scale.py.
_CANDIDATE_RATIO, _MIN_CANDIDATES = 0.02, 4096  # postings that may generate candidates
_LOOKUP_COST = 0.5  # one binary-search step vs one posting/doc of a dense pass
_UNIQUE_RATIO = 1 / 32  # merge postings by sorting below this share of docs
_SAMPLE_STRIDE = 32  # for the top-k threshold estimate on dense scores
_IMPACT = "max_impact.lexical.npy"  # per-term largest BM25 contribution


class LexicalIndexError(OpsbotError):
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


def _superset_threshold(dense: np.ndarray, k: int, final: bool) -> float:
    """A score that at least k docs reach (k-th best of a sample), else the smallest > 0.

    Filtering a dense score vector by it is much cheaper than partitioning it all.
    Only ``final`` scores may be cut: later terms could still lift a low doc.
    """
    sample = dense[::_SAMPLE_STRIDE]
    if final and sample.size >= k:
        kth = float(np.partition(sample, sample.size - k)[sample.size - k])
        if kth > 0:
            return kth
    return float(np.nextafter(dense.dtype.type(0), dense.dtype.type(1)))


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

    def search(
        self, query: str, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Top ``k`` (chunk id, BM25 score), best first; ties broken by lower id.

        ``allowed`` (a bool per chunk) masks candidates before the top k is taken, so
        the k results are all allowed ones (a channel's scope, a source's access).

        Unknown, empty or stopword-only queries return ``[]``; only documents that
        contain at least one query term are returned, so the list may be short.
        Exact, with a MaxScore-style shortcut: if the rare terms' postings are few,
        only their docs are scored (common terms, e.g. "docker" in an ops corpus,
        are binary-searched for them), provided the common terms' largest possible
        contribution cannot lift any other doc into the top k; otherwise every
        posting of every term is added into a dense score array (np.add.at).
        """
        terms = self._term_ids(query)
        if k <= 0 or terms.size == 0:
            return []
        sizes = self.indptr[terms + 1] - self.indptr[terms]
        order = np.argsort(sizes, kind="stable")  # rarest first
        terms, sizes = terms[order], sizes[order]
        starts, cum = self.indptr[terms], np.cumsum(sizes)
        budget = max(_MIN_CANDIDATES, _CANDIDATE_RATIO * self.num_docs)
        m = max(1, int(np.searchsorted(cum, budget, side="right")))
        lookups = cum[m - 1] * np.log2(sizes[m:] + 1.0).sum()
        docs = None
        if m == terms.size or lookups < _LOOKUP_COST * (cum[-1] + self.num_docs):
            docs, scores = self._gather(starts, sizes, m, k, allowed)
            rest = float(self.max_impact[terms[m:]].sum())  # most a non-candidate can get
            if rest > 0 and (docs.size < k or rest >= np.partition(scores, -k)[-k]):
                docs = None  # bound too loose: another doc might still make the top k
        if docs is None:
            docs, scores = self._gather(starts, sizes, terms.size, k, allowed)
        if docs.size > k:
            top = np.argpartition(-scores, k - 1)[:k]
            docs, scores = docs[top], scores[top]
        order = np.lexsort((docs, -scores))
        return [(int(docs[i]), float(scores[i])) for i in order if docs[i] < self.num_docs]

    def _gather(
        self,
        starts: np.ndarray,
        sizes: np.ndarray,
        m: int,
        k: int,
        allowed: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Score the docs in the first ``m`` terms' postings with all terms' contributions.

        With m == all terms the docs returned may be cut to a superset of the top k.
        """
        pairs = list(zip(starts.tolist(), sizes.tolist(), strict=True))
        spans = [slice(s, s + n) for s, n in pairs[:m]]
        docs: np.ndarray
        scores: np.ndarray
        if m == 1:
            docs = np.asarray(self.indices[spans[0]])
            scores = self.data[spans[0]].astype(np.float64)
        elif sizes[:m].sum() < _UNIQUE_RATIO * self.num_docs:
            merged = np.concatenate([self.indices[sl] for sl in spans])
            docs, inverse = np.unique(merged, return_inverse=True)
            weights = np.concatenate([self.data[sl] for sl in spans])
            scores = np.bincount(inverse, weights=weights, minlength=docs.size)
        else:
            dense = np.zeros(self.num_docs, dtype=np.float32)
            for sl in spans:  # doc ids are unique within a term
                np.add.at(dense, self.indices[sl], self.data[sl])
            if allowed is not None:
                dense[~allowed[: self.num_docs]] = 0.0
            docs = np.flatnonzero(dense >= _superset_threshold(dense, k, m == starts.size))
            scores = dense[docs]
        if allowed is not None:
            keep = allowed[docs]
            docs, scores = docs[keep], scores[keep]
        for s, n in pairs[m:]:
            postings = self.indices[s : s + n]  # sorted doc ids: binary search candidates
            pos = np.minimum(np.searchsorted(postings, docs), n - 1)
            hit = postings[pos] == docs
            scores[hit] += self.data[s + pos[hit]]
        return docs, scores

    def as_bm25s(self) -> bm25s.BM25:
        """A bm25s retriever sharing our arrays (for its save format and comparisons)."""
        bm25 = bm25s.BM25(method="lucene", k1=1.5, b=0.75, backend="numpy")
        bm25.scores = {"data": self.data, "indices": self.indices, "indptr": self.indptr}
        bm25.scores["num_docs"] = self.num_docs
        bm25.vocab_dict = self.vocab
        bm25.nonoccurrence_array = None  # only set by index(); save() reads it
        return bm25

    def save(self, directory: Path) -> None:
        """Write bm25s's files plus ours into a temp dir, then swap it into place."""
        directory = Path(directory)
        tmp, old = (directory.with_name(directory.name + ext) for ext in (".tmp", ".old"))
        for stale in (tmp, old):
            shutil.rmtree(stale, ignore_errors=True)
        self.as_bm25s().save(str(tmp), show_progress=False)
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
        mode: Literal["r"] | None = "r" if mmap else None
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
            terms = {str(t): int(i) for t, i in vocab.items()}
            index = cls(terms, data, indices, indptr, int(meta["num_docs"]), np.asarray(impact))
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
        skip_ids = not check_doc_ids or not n_post  # mmap: would page in every posting
        if not skip_ids and (self.indices.min() < 0 or self.indices.max() >= self.num_docs):
            problems.append("posting doc ids out of range")
        return problems
