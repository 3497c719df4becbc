"""What every build records about itself, and its answer-unit vectors: shared by the local
and the PostgreSQL index, so neither the engine nor ingest needs FAISS to read them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from bot import __version__
from bot.errors import OpsbotError

CHUNKER_VERSION = 1
FORMAT_VERSION = 5  # bump when the on-disk layout of a build changes
REINGEST = "re-run `opsbot ingest`"
# Below this, arrays are copied into memory: a truncated file then cannot SIGBUS
# a running server. Above it they are memory-mapped to keep large corpora off the heap.
MMAP_MIN_BYTES = 256 * 1024 * 1024


class IndexLoadError(OpsbotError, RuntimeError):
    """The index is missing, corrupt or built for another model; says to re-ingest."""


@dataclass
class Manifest:
    model: str
    dimension: int
    chunker: dict
    files: dict[str, str]
    chunk_count: int
    index: dict = field(default_factory=dict)
    documents: dict[str, list] = field(default_factory=dict)  # path -> [title, chunks]
    checksums: dict[str, str] = field(default_factory=dict)  # file in build -> "size:crc32"
    # the sources indexed, in order: {name, kind, location (no credentials), ref,
    # subdirectory, base_url, revision}; paths map to them with bot.sources.spec.source_of
    sources: list[dict] = field(default_factory=list)
    opsbot_version: str = __version__
    created_at: float = field(default_factory=time.time)

    @staticmethod
    def chunker_settings(max_tokens: int) -> dict:
        return {"max_tokens": max_tokens, "version": CHUNKER_VERSION, "format": FORMAT_VERSION}


@dataclass(frozen=True)
class UnitVectors:
    """Per-chunk unit vectors in one matrix (float16 on disk: half the bytes, ample precision
    for ranking), memory-mapped when loaded if large."""

    vectors: np.ndarray  # (total units, d)
    offsets: np.ndarray  # (chunks + 1,)

    @classmethod
    def pack(cls, per_chunk: Sequence[np.ndarray]) -> UnitVectors:
        sizes = [len(v) for v in per_chunk]
        offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        dim = next((v.shape[1] for v in per_chunk if v.ndim == 2), 0)
        rows = [v for v in per_chunk if len(v)]
        matrix = np.vstack(rows).astype(np.float16) if rows else np.zeros((0, dim), np.float16)
        return cls(matrix, offsets)

    def of(self, chunk_id: int) -> np.ndarray:
        start, end = int(self.offsets[chunk_id]), int(self.offsets[chunk_id + 1])
        return np.asarray(self.vectors[start:end], dtype=np.float32)

    def save(self, directory: Path) -> None:
        np.save(directory / "units.npy", self.vectors)
        np.save(directory / "unit_offsets.npy", self.offsets)

    @classmethod
    def load(cls, directory: Path, chunk_count: int) -> UnitVectors:
        path = directory / "units.npy"
        mode: Literal["r"] | None = "r" if path.stat().st_size > MMAP_MIN_BYTES else None
        vectors = np.load(path, mmap_mode=mode)
        offsets = np.load(directory / "unit_offsets.npy")
        if len(offsets) != chunk_count + 1 or int(offsets[-1]) != len(vectors):
            raise ValueError(f"unit vectors do not match {chunk_count} chunks")
        return cls(vectors, offsets)
