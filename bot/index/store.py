"""The index seam: where builds are stored, activated and searched.

Two backends implement it: `bot.index.localstore` (FAISS + BM25 files under INDEX_DIR, the
default, no extra dependency) and `bot.index.pgstore` (PostgreSQL with pgvector, chosen by
INDEX_URL=postgresql://…, shared by many replicas). Nothing above this seam imports FAISS:
the engine sees a `Build` (one immutable, loaded build) and ingest an `IndexStore`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from bot.config import Settings
from bot.documents import Chunk
from bot.errors import OpsbotError
from bot.index.manifest import Manifest
from bot.index.vocabulary import Vocabulary


class IndexUnavailableError(OpsbotError, RuntimeError):
    """The shared index cannot be reached right now (the database went away); retry later."""


@dataclass(frozen=True)
class WordStats:
    """How many passages use each indexed word: the IDF behind word weights and spelling."""

    num_docs: int
    df: Mapping[str, int]


@dataclass
class NewBuild:
    """Everything ingest hands a store to write one build."""

    manifest: Manifest
    chunks: list[Chunk]
    vectors: np.ndarray  # (chunks, d) normalised passage vectors, row i = chunk i
    units: list[np.ndarray]  # per chunk, (its units, d)
    texts: list[str]  # what word search indexes, one per chunk
    vocabulary: Vocabulary


class UnitLookup(Protocol):
    def of(self, chunk_id: int) -> np.ndarray: ...


class Build(Protocol):
    """One loaded, immutable build: every search a question makes goes to the same one."""

    @property
    def build_id(self) -> str: ...

    @property
    def manifest(self) -> Manifest: ...

    @property
    def chunks(self) -> Sequence[Chunk]: ...

    @property
    def units(self) -> UnitLookup: ...

    @property
    def vocabulary(self) -> Vocabulary: ...

    @property
    def dimension(self) -> int: ...

    def search_vectors(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (cosines, chunk ids) per query row, best first; missing ids are -1.
        `allowed` (a bool per chunk) keeps only those chunks, inside the search."""
        ...

    def search_words(
        self, text: str, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (chunk id, BM25 score), best first; only `allowed` chunks when given."""
        ...

    def passage_vectors(self, chunk_ids: Sequence[int]) -> np.ndarray:
        """(len(ids), d) passage vectors, in the order asked."""
        ...

    def chunk_paths(self) -> Sequence[str]:
        """Every chunk's document path, by chunk id: what a scope's mask needs, without
        reading every chunk's text."""
        ...

    def prefetch(self, chunk_ids: Sequence[int]) -> None:
        """Fetch these chunks' passages and vectors together (a remote build: one round trip)."""
        ...

    def word_stats(self) -> WordStats: ...

    def calibration(self) -> dict[str, Any] | None: ...

    def save_calibration(self, data: dict[str, Any]) -> None: ...


class EmbeddingStore(Protocol):
    """Vectors by content key, for one model: a re-ingest embeds only what changed."""

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]: ...

    def put_many(self, items: Iterable[tuple[str, np.ndarray]]) -> None: ...

    def prune(self, keep: set[str]) -> int: ...

    def close(self) -> None: ...


class IndexStore(Protocol):
    """Where builds live. `write` stores a build without serving it; `activate` makes it the
    one every reader opens next; builds no reader uses any more are removed."""

    location: str  # for messages: a folder or a URL without its password

    def active_id(self) -> str | None: ...

    def active_manifest(self) -> Manifest | None: ...

    def damaged(self, full: bool = False) -> list[str]:
        """What is wrong with the active build's stored data (a local build's files)."""
        ...

    def write(self, build: NewBuild) -> str: ...

    def activate(self, build_id: str) -> None: ...

    def open(self, build_id: str | None = None, expected_model: str | None = None) -> Build:
        """Load a build (the active one by default), checked against the query model."""
        ...

    def writer_lock(self) -> AbstractContextManager[None]:
        """One ingest at a time per index."""
        ...

    def embedding_cache(self, model: str) -> EmbeddingStore: ...

    def heartbeat(self, replica: str, build_id: str) -> None:
        """This replica serves `build_id`: keep it (see removal of old builds)."""
        ...

    def close(self) -> None: ...


def is_remote(settings: Settings) -> bool:
    return bool(settings.index_url)


def open_store(settings: Settings) -> IndexStore:
    """INDEX_URL's PostgreSQL store when set, else the local folder INDEX_DIR."""
    if settings.index_url:
        from bot.index.pgstore import PgStore

        return PgStore(settings.index_url, exact_limit=settings.exact_index_limit)
    from bot.index.localstore import LocalStore

    return LocalStore(settings.index_dir, exact_limit=settings.exact_index_limit)
