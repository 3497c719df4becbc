"""The default index: FAISS + BM25 builds in a local folder (bot/index/builds.py), one per
process or host, with its embedding cache in SQLite beside them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from bot.errors import OpsbotError
from bot.filelock import held
from bot.index import builds
from bot.index.cache import EmbeddingCache
from bot.index.manifest import Manifest, UnitVectors
from bot.index.store import NewBuild


class IngestBusyError(OpsbotError, RuntimeError):
    """Another process holds the index lock."""


@contextmanager
def index_lock(index_dir: Path, wait_seconds: float = 600) -> Iterator[None]:
    """One writer per index dir, across processes (a server's reload and a manual ingest)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = index_dir / ".lock"
    with held(lock, wait_seconds, lambda: IngestBusyError(f"another ingest holds {lock}"), 0.2):
        yield


class LocalStore:
    """Builds under INDEX_DIR; `current` is a symlink flipped in one rename."""

    def __init__(self, index_dir: Path, exact_limit: int = 20_000) -> None:
        self.index_dir = Path(index_dir)
        self.exact_limit = exact_limit
        self.location = str(self.index_dir)

    def active_id(self) -> str | None:
        current = builds.current_build(self.index_dir)
        return current.resolve().name if current.exists() else None

    def active_manifest(self) -> Manifest | None:
        return builds.read_manifest(self.index_dir)

    def damaged(self, full: bool = False) -> list[str]:
        manifest = self.active_manifest()
        current = builds.current_build(self.index_dir)
        if manifest is None or not (current / "vectors.faiss").exists():
            return ["no complete build"]
        return builds.verify_build(current.resolve(), manifest, full=full)

    def write(self, build: NewBuild) -> str:
        from bot.index.lexical import LexicalIndex
        from bot.index.vectors import build_vector_index, describe_index

        vectors = build_vector_index(build.vectors, exact_limit=self.exact_limit)
        build.manifest.index = describe_index(vectors)
        path = builds.write_unactivated(
            self.index_dir,
            build.manifest,
            build.chunks,
            vectors,
            LexicalIndex.build(build.texts),
            UnitVectors.pack(build.units),
            build.vocabulary,
        )
        return path.name

    def activate(self, build_id: str) -> None:
        builds.activate(self.index_dir, build_id)

    def open(
        self, build_id: str | None = None, expected_model: str | None = None
    ) -> builds.LoadedIndex:
        return builds.load(self.index_dir, expected_model=expected_model, build_id=build_id)

    def writer_lock(self) -> AbstractContextManager[None]:
        return index_lock(self.index_dir)

    def embedding_cache(self, model: str) -> EmbeddingCache:
        return EmbeddingCache(self.index_dir / "embeddings.sqlite", model)

    def heartbeat(self, replica: str, build_id: str) -> None:
        """A local index has one reader: nothing to keep."""

    def close(self) -> None:
        pass
