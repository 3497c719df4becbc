"""Live knowledge: notice changes to the knowledge sources and swap in a fresh index, and
re-read opsbot.toml when it changed (bot/settings_file.py).

A watcher thread polls every RELOAD_INTERVAL seconds (and reloads at once on SIGHUP);
each poll syncs the sources (lists folders, fetches git repositories).
With a shared index (INDEX_URL) it also looks for a build another process activated every
FOLLOW_SECONDS, and tells the index which build this replica serves (so it is kept); with
no knowledge source named it only follows, never ingests.
Re-ingest uses the embedding cache, so only changed files are embedded; the new index
is swapped in with one reference assignment, so a question in flight finishes on the
index it started with. A failed reload keeps the old index and logs why.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from bot.config import Settings
from bot.engine.engine import Engine, check_dimension
from bot.index.store import IndexStore, is_remote, open_store
from bot.ingest import pipeline
from bot.settings_file import LiveConfig

log = logging.getLogger(__name__)
FOLLOW_SECONDS = 2.0  # a shared index's new build is picked up within this long


@dataclass(frozen=True)
class ReloadResult:
    ok: bool
    changed: bool
    at: float
    detail: str
    chunks: int


class KnowledgeWatcher:
    """Keeps one Engine's index in step with its knowledge dir."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        on_result: Callable[[ReloadResult], None] | None = None,
        config: LiveConfig | None = None,
    ) -> None:
        self.engine = engine
        self.config = config  # opsbot.toml, re-read when it changed
        self.settings = settings
        self.interval = settings.reload_interval
        self.store: IndexStore = engine.store or open_store(settings)
        self.follows = is_remote(settings)
        self.ingests = settings.names_knowledge or not self.follows
        self.replica = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._next_ingest_check = 0.0
        self.on_result = on_result
        self.last: ReloadResult | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Poll in the background; with RELOAD_INTERVAL=0 only SIGHUP/`trigger` reload."""
        self._thread = threading.Thread(target=self._run, name="knowledge-watcher", daemon=True)
        self._thread.start()

    def install_sighup(self) -> None:
        """SIGHUP means 'reload now' (must be called from the main thread)."""
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, lambda *_: self.trigger())

    def trigger(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=5)
        leave = getattr(self.store, "leave", None)
        if leave is not None:
            try:
                leave(self.replica)
            except Exception as exc:  # the database is gone: the lease simply expires
                log.warning("could not release this replica's index lease: %s", exc)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.follows:
                timeout: float | None = FOLLOW_SECONDS
            else:
                timeout = self.interval if self.interval > 0 else None
            woke = self._wake.wait(timeout=timeout)
            self._wake.clear()
            if self._stop.is_set():
                return
            if woke or self.interval > 0 or self.follows:
                self.reload_if_changed(ingest=woke or not self.follows or self._ingest_due())

    def _ingest_due(self) -> bool:
        now = time.monotonic()
        if self.interval > 0 and now >= self._next_ingest_check:
            self._next_ingest_check = now + self.interval
            return True
        return False

    def reload_if_changed(self, ingest: bool = True) -> ReloadResult:
        """Re-ingest if files changed (with `ingest`), or pick up a build another process made."""
        with self._lock:
            started = time.time()
            if self.config is not None:
                self.config.refresh()  # a bad file logs one line and keeps the last good one
            try:
                result = self._reload(started, ingest and self.ingests)
            except Exception as exc:  # bad file, full disk, corrupt build: keep serving
                log.error(
                    "knowledge reload failed, still serving the old index: %s",
                    exc,
                    extra={"reload": "failed"},
                )
                result = ReloadResult(False, False, started, str(exc), self.engine.chunk_count)
            self.last = result
            if self.on_result:
                try:
                    self.on_result(result)
                except Exception:  # a metrics hook must not stop the watcher
                    log.exception("reload callback failed")
            return result

    def _reload(self, started: float, ingest: bool) -> ReloadResult:
        embedder, store = self.engine.embedder, self.store
        detail = "unchanged"
        if ingest and not pipeline.check_fresh(self.settings, embedder, store):
            summary = pipeline.ingest(self.settings, embedder=embedder, store=store)
            detail = summary.lines()[0]
        live = store.active_id()
        if live is None or live == self.engine.index.build_id:
            if self.follows:
                store.heartbeat(self.replica, self.engine.index.build_id)
            return ReloadResult(True, False, started, detail, self.engine.chunk_count)
        index = store.open(live, expected_model=embedder.name)
        check_dimension(index, embedder.encode_query("dimension check"))
        self.engine.swap_index(index)
        if self.follows:
            store.heartbeat(self.replica, index.build_id)
        chunks = len(index.chunks)
        extra = {"reload": "changed", "chunks": chunks, "index": index.build_id}
        log.info("knowledge reloaded: %s (%d chunks)", detail, chunks, extra=extra)
        return ReloadResult(True, True, started, detail, chunks)
