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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bot import __version__  # noqa: F401 (re-exported: ingest compares it)
from bot.documents import Chunk
from bot.index.chunktable import ChunkReadError, ChunkTable
from bot.index.manifest import (
    CHUNKER_VERSION,
    FORMAT_VERSION,
    MMAP_MIN_BYTES,
    REINGEST,
    IndexLoadError,
    Manifest,
    UnitVectors,
)
from bot.index.store import WordStats
from bot.index.vectors import IndexFileError, check_index_file, load_index, save_index
from bot.index.vectors import search as dense_search
from bot.index.vocabulary import Vocabulary, VocabularyError, learn

if TYPE_CHECKING:  # loaded when a build is read or written, not to check one is up to date
    import faiss

    from bot.index.lexical import LexicalIndex

__all__ = ["CHUNKER_VERSION", "FORMAT_VERSION", "IndexLoadError", "Manifest", "UnitVectors"]
CALIBRATION_FILE = "calibration.json"


@dataclass
class LoadedIndex:
    """A local build (the `Build` of bot/index/store.py): FAISS vectors and BM25 in memory,
    chunk texts read from disk on demand."""

    manifest: Manifest
    chunks: Sequence[Chunk]  # a ChunkTable: read from disk on demand
    vectors: faiss.Index
    lexical: LexicalIndex
    path: Path
    units: UnitVectors
    vocabulary: Vocabulary

    @property
    def build_id(self) -> str:
        return self.path.name

    @property
    def dimension(self) -> int:
        return int(self.vectors.d)

    def search_vectors(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        return dense_search(self.vectors, queries, k, allowed)

    def search_words(
        self, text: str, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        return self.lexical.search(text, k, allowed)

    def chunk_paths(self) -> list[str]:
        return [chunk.path for chunk in self.chunks]

    def passage_vectors(self, chunk_ids: Sequence[int]) -> np.ndarray:
        if not len(chunk_ids):
            return np.zeros((0, self.dimension), np.float32)
        return np.vstack([self.vectors.reconstruct(int(i)) for i in chunk_ids])

    def prefetch(self, chunk_ids: Sequence[int]) -> None:
        """Nothing to do: everything but the texts is in memory, and those are a pread away."""

    def word_stats(self) -> WordStats:
        indptr = self.lexical.indptr
        df = {term: int(indptr[tid + 1] - indptr[tid]) for term, tid in self.lexical.vocab.items()}
        return WordStats(len(self.lexical), df)

    def calibration(self) -> dict[str, Any] | None:
        try:
            data = json.loads((self.path / CALIBRATION_FILE).read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def save_calibration(self, data: dict[str, Any]) -> None:
        """Kept with the build; on a full disk nothing is left behind (the engine goes on
        with the calibration in memory)."""
        tmp = self.path / (CALIBRATION_FILE + ".tmp")
        try:
            tmp.write_text(json.dumps(data), "utf-8")
            tmp.replace(self.path / CALIBRATION_FILE)
        except OSError:
            tmp.unlink(missing_ok=True)
            raise


def current_build(index_dir: Path) -> Path:
    return index_dir / "current"


def read_manifest(index_dir: Path) -> Manifest | None:
    """The live manifest, or None when no index was ever built."""
    return read_build_manifest(current_build(index_dir))


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
    final = write_unactivated(index_dir, manifest, chunks, vectors, lexical, units, vocabulary)
    activate(index_dir, final.name)
    return final


def write_unactivated(
    index_dir: Path,
    manifest: Manifest,
    chunks: list[Chunk],
    vectors: faiss.Index,
    lexical: LexicalIndex,
    units: UnitVectors,
    vocabulary: Vocabulary | None = None,
) -> Path:
    """Write a complete build under builds/<id>, not yet live (see `activate`)."""
    if vocabulary is None:
        vocabulary = learn(f"{c.heading}\n{c.text}" for c in chunks)
    builds = index_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    build_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    tmp = builds / f".tmp-{build_id}"
    final = builds / build_id
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
    except BaseException:  # a full disk mid-build: leave nothing half-written behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def activate(index_dir: Path, build_id: str) -> None:
    """Flip `current` to builds/<id> in one rename, then drop builds no one needs."""
    builds = index_dir / "builds"
    final = builds / build_id
    link = index_dir / f".current-{build_id}"
    try:
        os.symlink(Path("builds") / build_id, link)
        os.replace(link, current_build(index_dir))
    except BaseException:
        link.unlink(missing_ok=True)
        if current_build(index_dir).resolve() != final.resolve():
            shutil.rmtree(final, ignore_errors=True)
        raise
    _remove_old_builds(builds, keep={build_id})


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


def read_build_manifest(build: Path) -> Manifest | None:
    path = build / "manifest.json"
    if not path.exists():
        return None
    try:
        return Manifest(**json.loads(path.read_text("utf-8")))
    except (ValueError, TypeError) as exc:
        raise IndexLoadError(f"index manifest {path} is corrupt ({exc}); {REINGEST}") from None


def load(
    index_dir: Path, expected_model: str | None = None, build_id: str | None = None
) -> LoadedIndex:
    """Load the live build (or builds/<build_id>), checking it against the query model."""
    from bot.index.lexical import LexicalIndex, LexicalIndexError  # BM25: scipy, ~0.2 s

    build = (index_dir / "builds" / build_id) if build_id else current_build(index_dir)
    manifest = read_build_manifest(build)
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
