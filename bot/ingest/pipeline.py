"""`opsbot ingest`: files → documents → chunks → cached embeddings → a new index build."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot import __version__
from bot.config import Settings
from bot.documents import Chunk
from bot.index.embedder import Embedder, open_embedder
from bot.index.localstore import IngestBusyError, index_lock
from bot.index.manifest import IndexLoadError, Manifest
from bot.index.store import IndexStore, NewBuild, open_store
from bot.ingest.budget import Budget, LoadError
from bot.ingest.chunker import chunk_document
from bot.ingest.embed import embed_with_cache
from bot.ingest.loaders import SkippedFile, SourceFile
from bot.ingest.progress import Notify, Progress, stage
from bot.ingest.worker import FileParser
from bot.observability.logs import escape_controls
from bot.sources.base import Source, SourceState
from bot.sources.registry import Gathered, gather, open_sources

log = logging.getLogger(__name__)


@dataclass
class IngestSummary:
    files: int = 0
    chunks: int = 0
    embedded: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)
    seconds: float = 0.0
    up_to_date: bool = False

    def lines(self) -> list[str]:
        if self.up_to_date:
            head = f"Index up to date: {self.files} files, {self.chunks} chunks"
            return [f"{head} ({self.seconds:.2f}s)."]
        out = [
            f"Indexed {self.files} files into {self.chunks} chunks; "
            f"embedded {self.embedded} new chunks in {self.seconds:.1f}s."
        ]
        if self.skipped:
            out.append(f"Skipped {len(self.skipped)} files:")
            out += [f"  - {escape_controls(s.path)}: {s.reason}" for s in self.skipped]
        return out


def cache_path(settings: Settings) -> Path:
    return settings.index_dir / "embeddings.sqlite"


def described(sources: list[Source], states: list[SourceState]) -> list[dict]:
    """The manifest's record of the sources: enough to map paths and build links later."""
    return [
        {
            "name": source.spec.name,
            "kind": source.spec.kind,
            "location": source.spec.display,
            "ref": source.spec.ref,
            "subdirectory": source.spec.subdirectory,
            "base_url": source.spec.base_url,
            "revision": state.revision,
        }
        for source, state in zip(sources, states, strict=True)
    ]


def _same_sources(old: list[dict], new: list[dict] | None) -> bool:
    if new is None:
        return True
    return [(s.get("name"), s.get("kind")) for s in old] == [(s["name"], s["kind"]) for s in new]


__all__ = ["IngestBusyError", "index_lock", "ingest"]


def is_up_to_date(
    settings: Settings,
    files: list[SourceFile],
    model_name: str,
    *,
    full_check: bool = False,
    sources: list[dict] | None = None,
    store: IndexStore | None = None,
) -> bool:
    """True when the live manifest already describes exactly these files and settings, and
    the build's data is as written (sizes; every byte with `full_check`, as ingest does)."""
    store = store or open_store(settings)
    try:
        manifest = store.active_manifest()
    except IndexLoadError:
        return False
    if not (
        manifest is not None
        and manifest.model == model_name
        and manifest.chunker == Manifest.chunker_settings(settings.chunk_tokens)
        and manifest.files == {f.path: f.sha256 for f in files}
        and manifest.opsbot_version == __version__
        and _same_sources(manifest.sources, sources)
    ):
        return False
    problems = store.damaged(full=full_check)
    if problems:
        log.warning("the live index build is damaged (%s); rebuilding it", "; ".join(problems))
    return not problems


def synced(settings: Settings) -> tuple[list[Source], Gathered]:
    """Every declared source, synced (git fetches, folders listed), and their files."""
    sources = open_sources(settings)
    return sources, gather(sources)


def check_fresh(
    settings: Settings, embedder: Embedder | None = None, store: IndexStore | None = None
) -> bool:
    """Staleness check for `ask`, `chat` and reloads: syncs the sources (a git fetch, no
    model), then compares content hashes with the live build."""
    embedder = embedder or open_embedder(settings)
    sources, found = synced(settings)
    return is_up_to_date(
        settings,
        found.files,
        embedder.name,
        sources=described(sources, found.states),
        store=store,
    )


def build_chunks(
    files: list[SourceFile],
    settings: Settings,
    embedder: Embedder,
    progress: Progress | None = None,
) -> tuple[list[Chunk], dict[str, str], list[SkippedFile]]:
    """Parse and chunk every file; a bad file, or one over its budget (bot.ingest.budget), is
    skipped with its reason, never fatal. Parsing runs in a child process with a deadline."""
    chunks: list[Chunk] = []
    hashes = {f.path: f.sha256 for f in files}  # failed files too: same bytes, same failure
    skipped: list[SkippedFile] = []
    with FileParser(Budget.of(settings)) as parser:
        for file in files:
            if progress is not None:
                progress.update(1)
            try:
                doc = parser.parse(file)
                file_chunks = chunk_document(doc, settings.chunk_tokens, embedder.count_tokens)
            except LoadError as exc:
                skipped.append(SkippedFile(file.path, str(exc)))
                continue
            except Exception as exc:  # a chunker bug on one file must not stop the ingest
                skipped.append(SkippedFile(file.path, f"could not parse: {exc}"))
                continue
            chunks.extend(file_chunks)
    return chunks, hashes, skipped


def documents_of(chunks: list[Chunk]) -> dict[str, list]:
    """path -> [title, chunk count], kept in the manifest so loading needs no pass over texts."""
    documents: dict[str, list] = {}
    for chunk in chunks:
        entry = documents.setdefault(chunk.path, [chunk.title, 0])
        entry[1] += 1
    return documents


def ingest(
    settings: Settings,
    *,
    show_progress: bool = False,
    embedder: Embedder | None = None,
    force: bool = False,
    notify: Notify | None = None,
    store: IndexStore | None = None,
) -> IngestSummary:
    """Bring the index (`store`: INDEX_URL's, else INDEX_DIR's) in line with the knowledge
    dir: a new build, written whole, then activated. Cheap when nothing changed."""
    from bot.index.vocabulary import learn

    started = time.perf_counter()
    embedder = embedder or open_embedder(settings)
    store = store or open_store(settings)
    with store.writer_lock():
        with stage("Finding files", "syncing and hashing", bar=show_progress, notify=notify):
            sources, found = synced(settings)
            files, record = found.files, described(sources, found.states)
            # comparing every file with the last build takes long on 100k files: not silent
            fresh = is_up_to_date(
                settings, files, embedder.name, full_check=True, sources=record, store=store
            )
        summary = IngestSummary(files=len(files), skipped=list(found.skipped))
        if not force and fresh:
            manifest = store.active_manifest()
            summary.chunks = manifest.chunk_count if manifest else 0
            summary.up_to_date = True
            summary.seconds = time.perf_counter() - started
            return summary
        with Progress(
            len(files), "Reading", bar=show_progress, notify=notify, unit="files"
        ) as reading:
            chunks, hashes, bad = build_chunks(files, settings, embedder, reading)
        summary.skipped += bad
        summary.files = len(files) - len(bad)
        cache = store.embedding_cache(embedder.name)
        try:
            matrix, units, summary.embedded = embed_with_cache(
                chunks, cache, embedder, show_progress, notify
            )
        finally:
            cache.close()
        texts = [f"{c.heading}\n{c.text}" for c in chunks]
        learning_desc = f"learning the vocabulary of {len(chunks)} chunks"
        with stage("Indexing", learning_desc, bar=show_progress, notify=notify):
            learning = time.perf_counter()
            vocabulary = learn(texts)
        log.info(
            "learned %d definitions and %d identifiers from %d chunks in %.2fs",
            len(vocabulary.definitions),
            len(vocabulary.identifiers),
            len(texts),
            time.perf_counter() - learning,
        )
        manifest = Manifest(
            model=embedder.name,
            dimension=int(matrix.shape[1]),
            chunker=Manifest.chunker_settings(settings.chunk_tokens),
            files=hashes,
            chunk_count=len(chunks),
            documents=documents_of(chunks),
            sources=record,
        )
        saving = f"building the indexes of {len(chunks)} chunks, saving and calibrating"
        with stage("Writing", saving, bar=show_progress, notify=notify):
            build_id = store.write(NewBuild(manifest, chunks, matrix, units, texts, vocabulary))
            summary.chunks = len(chunks)
            # calibration reads the build just written: release this run's copy first
            del chunks, units, matrix, texts, vocabulary
            calibrate_build(settings, embedder, store, build_id)
            store.activate(build_id)
    summary.seconds = time.perf_counter() - started
    warn_skipped(summary.skipped, {f.path: f.sha256 for f in files})
    return summary


def calibrate_build(
    settings: Settings, embedder: Embedder, store: IndexStore, build_id: str
) -> None:
    """Set the new build's own decline threshold now, while the model is loaded (the
    engine reads it from the build; bot/engine/calibration.py). A build that cannot be
    calibrated still serves: the engine calibrates it when it loads it."""
    from bot.engine.engine import Engine

    try:
        Engine(settings, store.open(build_id, expected_model=embedder.name), embedder, store)
    except (IndexLoadError, OSError) as exc:
        log.warning("could not calibrate the new index: %s", exc)


_warned: set[tuple[str, str, str]] = set()


def warn_skipped(items: list[SkippedFile], hashes: dict[str, str]) -> None:
    """Warn once per file, reason and content: a server re-ingesting on every change would
    otherwise repeat the same skip warning for as long as the file sits there."""
    for item in items:
        key = (item.path, item.reason, hashes.get(item.path, ""))
        if key in _warned:
            continue
        if len(_warned) >= 10_000:  # bounded, whatever the folder holds
            _warned.clear()
        _warned.add(key)
        log.warning("skipped %s: %s", item.path, item.reason)
