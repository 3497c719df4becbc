"""The index on disk: manifest, chunks, FAISS vectors and BM25, swapped in atomically.

Layout of INDEX_DIR:
    current -> builds/<id>      symlink, replaced atomically after a complete build
    builds/<id>/manifest.json   model, dimension, chunker settings, per-file hashes, version
    builds/<id>/chunks.jsonl    one chunk per line, in vector-id order
    builds/<id>/vectors.faiss   dense index
    builds/<id>/bm25/           lexical index
    embeddings.sqlite           embedding cache (outside builds, survives rebuilds)
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import faiss

from bot import __version__
from bot.engine.types import Chunk
from bot.index.chunktable import ChunkTable
from bot.index.lexical import LexicalIndex, LexicalIndexError
from bot.index.vectors import IndexFileError, load_index, save_index

CHUNKER_VERSION = 1
FORMAT_VERSION = 3  # bump when the on-disk layout of a build changes
REINGEST = "re-run `opsbot ingest`"


class IndexLoadError(RuntimeError):
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
    opsbot_version: str = __version__
    created_at: float = field(default_factory=time.time)

    @staticmethod
    def chunker_settings(max_tokens: int) -> dict:
        return {"max_tokens": max_tokens, "version": CHUNKER_VERSION, "format": FORMAT_VERSION}


@dataclass
class LoadedIndex:
    manifest: Manifest
    chunks: Sequence[Chunk]  # a ChunkTable: read from disk on demand
    vectors: faiss.Index
    lexical: LexicalIndex
    path: Path


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
) -> Path:
    """Write a complete build beside the live one, then flip `current` to it."""
    builds = index_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    build_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    tmp = builds / f".tmp-{build_id}"
    tmp.mkdir()
    try:
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as fh:
            for chunk in chunks:
                fh.write(json.dumps(asdict(chunk), ensure_ascii=False) + "\n")
        save_index(vectors, tmp / "vectors.faiss")
        lexical.save(tmp / "bm25")
        (tmp / "manifest.json").write_text(json.dumps(asdict(manifest), indent=1), "utf-8")
        final = builds / build_id
        os.replace(tmp, final)
        link = index_dir / f".current-{build_id}"
        os.symlink(Path("builds") / build_id, link)
        os.replace(link, current_build(index_dir))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _remove_old_builds(builds, keep={build_id})
    return final


def _remove_old_builds(builds: Path, keep: set[str]) -> None:
    """Keep the newest few builds: a reader that resolved `current` a moment ago still works."""
    entries = sorted((p for p in builds.iterdir() if p.name not in keep), key=lambda p: p.name)
    for old in entries[:-1]:
        shutil.rmtree(old, ignore_errors=True)


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
    try:
        chunks = ChunkTable(build / "chunks.jsonl")
        if len(chunks):
            chunks[0], chunks[len(chunks) - 1]  # parse both ends: a torn file fails here
        vectors = load_index(build / "vectors.faiss", manifest.index or None)
        lexical = LexicalIndex.load(build / "bm25", mmap=True)  # page cache, not heap
    except (OSError, ValueError, TypeError, IndexFileError, LexicalIndexError) as exc:
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
    return LoadedIndex(manifest, chunks, vectors, lexical, build)
