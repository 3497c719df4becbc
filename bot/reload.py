"""Live knowledge: notice changes to the knowledge sources and swap in a fresh index, and
re-read opsbot.toml when it changed (bot/settings_file.py).

A watcher thread polls every RELOAD_INTERVAL seconds (and reloads at once on SIGHUP);
each poll syncs the sources (lists folders, fetches git repositories).
Re-ingest uses the embedding cache, so only changed files are embedded; the new index
is swapped in with one reference assignment, so a question in flight finishes on the
index it started with. A failed reload keeps the old index and logs why.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.config import Settings
from bot.engine.engine import Engine
from bot.index import builds
from bot.ingest import pipeline
from bot.settings_file import LiveConfig

log = logging.getLogger(__name__)


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

    def _run(self) -> None:
        while not self._stop.is_set():
            woke = self._wake.wait(timeout=self.interval if self.interval > 0 else None)
            self._wake.clear()
            if self._stop.is_set():
                return
            if woke or self.interval > 0:
                self.reload_if_changed()

    def reload_if_changed(self) -> ReloadResult:
        """Re-ingest if files changed, or pick up a build another process made."""
        with self._lock:
            started = time.time()
            if self.config is not None:
                self.config.refresh()  # a bad file logs one line and keeps the last good one
            try:
                result = self._reload(started)
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

    def _reload(self, started: float) -> ReloadResult:
        embedder = self.engine.embedder
        detail = "unchanged"
        if not pipeline.check_fresh(self.settings, embedder):
            summary = pipeline.ingest(self.settings, embedder=embedder)
            detail = summary.lines()[0]
        live = builds.current_build(self.settings.index_dir).resolve()
        if live == self.engine.index.path:
            return ReloadResult(True, False, started, detail, self.engine.chunk_count)
        index = builds.load(self.settings.index_dir, expected_model=embedder.name)
        self.engine.swap_index(index)
        chunks = len(index.chunks)
        extra = {"reload": "changed", "chunks": chunks, "index": index.path.name}
        log.info("knowledge reloaded: %s (%d chunks)", detail, chunks, extra=extra)
        return ReloadResult(True, True, started, detail, chunks)
