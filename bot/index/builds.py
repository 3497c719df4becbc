"""The index on disk: manifest, chunks, FAISS vectors and BM25, swapped in atomically.

Layout of INDEX_DIR:
    current -> builds/<id>      symlink, replaced atomically after a complete build
    builds/<id>/manifest.json   model, dimension, chunker settings, per-file hashes, version
    builds/<id>/chunks.jsonl    one chunk per line, in vector-id order
    builds/<id>/vectors.faiss   dense index
    builds/<id>/bm25/           lexical index
    builds/<id>/units.npy       float16 vectors of every chunk's answer units, chunk by chunk
    builds/<id>/unit_offsets.npy  chunk i's units are rows offsets[i]:offsets[i + 1]
    builds/<id>/vocabulary.json   the docs' definitions, identifiers and words
    embeddings.sqlite           embedding cache (outside builds, survives rebuilds)
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import faiss
import numpy as np

from bot import __version__
from bot.documents import Chunk
from bot.errors import OpsbotError
from bot.index.chunktable import ChunkReadError, ChunkTable
from bot.index.lexical import LexicalIndex, LexicalIndexError
from bot.index.vectors import IndexFileError, check_index_file, load_index, save_index
from bot.index.vocabulary import Vocabulary, VocabularyError, learn

CHUNKER_VERSION = 1
FORMAT_VERSION = 5  # bump when the on-disk layout of a build changes
REINGEST = "re-run `opsbot ingest`"
# Below this, the BM25 arrays are copied into memory: a truncated file then cannot SIGBUS
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


@dataclass
class LoadedIndex:
    manifest: Manifest
    chunks: Sequence[Chunk]  # a ChunkTable: read from disk on demand
    vectors: faiss.Index
    lexical: LexicalIndex
    path: Path
    units: UnitVectors
    vocabulary: Vocabulary


def current_build(index_dir: Path) -> Path:
    return index_dir / "current"


def read_manifest(index_dir: Path) -> Manifest | None:
    """The live manifest, or None when no index was ever built."""
    path = current_build(index_dir) / "manifest.json"
    if not path.exists():
        return None
    try:
        return Manifest(**json.loads(path.read_text("utf-8")))
    except (ValueError, TypeError) as exc:
        raise IndexLoadError(f"index manifest {path} is corrupt ({exc}); {REINGEST}") from None


def write_build(
    index_dir: Path,
    manifest: Manifest,
    chunks: list[Chunk],
    vectors: faiss.Index,
    lexical: LexicalIndex,
    units: UnitVectors,
    vocabulary: Vocabulary | None = None,
) -> Path:
    """Write a complete build beside the live one, then flip `current` to it. Without a
    `vocabulary`, it is learned here from the chunks (as ingest does)."""
    if vocabulary is None:
        vocabulary = learn(f"{c.heading}\n{c.text}" for c in chunks)
    builds = index_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    build_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    tmp = builds / f".tmp-{build_id}"
    final = builds / build_id
    link = index_dir / f".current-{build_id}"
    tmp.mkdir()
    try:
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as fh:
            for chunk in chunks:
                fh.write(json.dumps(asdict(chunk), ensure_ascii=False) + "\n")
        save_index(vectors, tmp / "vectors.faiss")
        lexical.save(tmp / "bm25")
        units.save(tmp)
        vocabulary.save(tmp)
        manifest.checksums = {
            str(path.relative_to(tmp)): file_digest(path)
            for path in sorted(tmp.rglob("*"))
            if path.is_file() and path.name != "vectors.faiss"  # it carries its own CRC
        }
        (tmp / "manifest.json").write_text(json.dumps(asdict(manifest), indent=1), "utf-8")
        os.replace(tmp, final)
        os.symlink(Path("builds") / build_id, link)
        os.replace(link, current_build(index_dir))
    except BaseException:  # a full disk mid-build: leave nothing half-written behind
        shutil.rmtree(tmp, ignore_errors=True)
        link.unlink(missing_ok=True)
        if current_build(index_dir).resolve() != final.resolve():
            shutil.rmtree(final, ignore_errors=True)
        raise
    _remove_old_builds(builds, keep={build_id})
    return final


def file_digest(path: Path, size_only: bool = False) -> str:
    """ "size:crc32" of a file, streamed; with `size_only`, just "size:" (cheap)."""
    crc, size = 0, 0
    with open(path, "rb") as fh:
        if size_only:
            return f"{fh.seek(0, 2)}:"
        while block := fh.read(1 << 24):
            crc, size = zlib.crc32(block, crc), size + len(block)
    return f"{size}:{crc:08x}"


def verify_build(
    build: Path, manifest: Manifest, *, full: bool = True, vectors: bool = True
) -> list[str]:
    """Files of a build that differ from what was written (sizes only unless `full`)."""
    problems = []
    if full and vectors:
        try:
            check_index_file(build / "vectors.faiss")
        except IndexFileError as exc:
            problems.append(str(exc))
    for rel, expected in manifest.checksums.items():
        path = build / rel
        try:
            actual = file_digest(path, size_only=not full)
        except OSError as exc:
            problems.append(f"{rel}: {exc.strerror or exc}")
            continue
        if not (actual == expected if full else expected.startswith(actual)):
            problems.append(f"{rel} changed since it was written")
    return problems


def _remove_old_builds(builds: Path, keep: set[str]) -> None:
    """Keep the newest few builds: a reader that resolved `current` a moment ago still works."""
    entries = sorted((p for p in builds.iterdir() if p.name not in keep), key=lambda p: p.name)
    for old in entries[:-1]:
        shutil.rmtree(old, ignore_errors=True)


def _lexical_bytes(build: Path) -> int:
    return sum(p.stat().st_size for p in (build / "bm25").glob("*") if p.is_file())


def load(index_dir: Path, expected_model: str | None = None) -> LoadedIndex:
    """Load the live build, checking it against the model we will query with."""
    build = current_build(index_dir)
    manifest = read_manifest(index_dir)
    if manifest is None:
        raise IndexLoadError(f"no index in {index_dir}; {REINGEST}")
    build = build.resolve()
    if expected_model is not None and manifest.model != expected_model:
        raise IndexLoadError(
            f"index was built with model {manifest.model!r} but EMBEDDING_MODEL is "
            f"{expected_model!r}; {REINGEST}"
        )
    problems = verify_build(build, manifest, vectors=False)  # load_index checks its CRC
    if problems:
        raise IndexLoadError(f"index in {build} is damaged ({'; '.join(problems)}); {REINGEST}")
    try:
        chunks = ChunkTable(build / "chunks.jsonl")
        if len(chunks):
            chunks[0], chunks[len(chunks) - 1]  # parse both ends: a torn file fails here
        vectors = load_index(build / "vectors.faiss", manifest.index or None)
        lexical = LexicalIndex.load(build / "bm25", mmap=_lexical_bytes(build) > MMAP_MIN_BYTES)
        units = UnitVectors.load(build, manifest.chunk_count)
        vocabulary = Vocabulary.load(build)
    except (
        OSError,
        ValueError,
        TypeError,
        IndexFileError,
        LexicalIndexError,
        ChunkReadError,
        VocabularyError,
    ) as exc:
        raise IndexLoadError(
            f"index in {build} is corrupt or incomplete ({exc}); {REINGEST}"
        ) from None
    if vectors.ntotal != len(chunks) or len(chunks) != manifest.chunk_count:
        raise IndexLoadError(
            f"index in {build} is inconsistent ({vectors.ntotal} vectors, {len(chunks)} chunks, "
            f"manifest says {manifest.chunk_count}); {REINGEST}"
        )
    if vectors.ntotal and vectors.d != manifest.dimension:
        raise IndexLoadError(
            f"index dimension {vectors.d} does not match manifest {manifest.dimension}; {REINGEST}"
        )
    return LoadedIndex(manifest, chunks, vectors, lexical, build, units, vocabulary)
