"""Live reload while questions keep coming: add, change, delete a document."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

from bot.config import Settings
from bot.engine.engine import Engine
from bot.index import builds
from bot.ingest import pipeline
from bot.reload import KnowledgeWatcher

BASE = "# Base Notes\n\n## Deploys\n\nWe deploy the web tier with rolling updates every Tuesday.\n"
NEW = "# Zebra Queue\n\n## Draining\n\nTo drain the zebra queue run `zebractl drain --all`.\n"
CHANGED = "# Zebra Queue\n\n## Draining\n\nTo drain the zebra queue run `zebractl purge --force`.\n"
QUESTION = "how do I drain the zebra queue?"


def wait_for(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_answers_follow_add_change_delete_without_failures(tmp_path: Path):
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "base.md").write_text(BASE)
    settings = Settings(
        knowledge_dirs=(kb,), index_dir=tmp_path / "idx", data_dir=tmp_path / "d", reload_interval=1
    )
    engine = Engine.open(settings, notify=lambda _m: None)
    watcher = KnowledgeWatcher(engine, settings)
    watcher.start()
    errors: list[BaseException] = []
    asked = 0
    stop = threading.Event()

    def ask_forever() -> None:
        nonlocal asked
        while not stop.is_set():
            try:
                engine.answer(QUESTION)
                asked += 1
            except BaseException as exc:  # any failure is a test failure
                errors.append(exc)

    asker = threading.Thread(target=ask_forever)
    asker.start()
    try:

        def top_text() -> str:
            answer = engine.answer(QUESTION)
            return answer.sources[0].text if answer.answered and answer.sources else ""

        assert "zebractl" not in top_text()
        (kb / "zebra.md").write_text(NEW)
        assert wait_for(lambda: "zebractl drain" in top_text()), "added doc not picked up"
        (kb / "zebra.md").write_text(CHANGED)
        assert wait_for(lambda: "zebractl purge" in top_text()), "changed doc not picked up"
        (kb / "zebra.md").unlink()
        assert wait_for(lambda: "zebractl" not in top_text()), "deleted doc still answered"
    finally:
        stop.set()
        asker.join()
        watcher.stop()
    assert not errors
    assert asked > 0
    assert watcher.last is not None and watcher.last.ok


def test_failed_reload_keeps_old_index(tmp_path: Path, monkeypatch):
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "base.md").write_text(BASE)
    settings = Settings(knowledge_dirs=(kb,), index_dir=tmp_path / "idx", data_dir=tmp_path / "d")
    engine = Engine.open(settings, notify=lambda _m: None)
    watcher = KnowledgeWatcher(engine, replace(settings, reload_interval=0))
    (kb / "zebra.md").write_text(NEW)

    def full_disk(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(builds, "write_unactivated", full_disk)
    result = watcher.reload_if_changed()
    assert not result.ok and "No space left" in result.detail
    assert engine.answer("when do we deploy the web tier?").answered
    monkeypatch.undo()
    assert watcher.reload_if_changed().changed
    assert "zebractl" in engine.answer(QUESTION).sources[0].text


def test_external_ingest_is_picked_up(tmp_path: Path):
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "base.md").write_text(BASE)
    settings = Settings(knowledge_dirs=(kb,), index_dir=tmp_path / "idx", data_dir=tmp_path / "d")
    engine = Engine.open(settings, notify=lambda _m: None)
    watcher = KnowledgeWatcher(engine, settings)
    (kb / "zebra.md").write_text(NEW)
    pipeline.ingest(settings)  # as `opsbot ingest` in another process would
    result = watcher.reload_if_changed()
    assert result.ok and result.changed
    assert "zebractl" in engine.answer(QUESTION).sources[0].text
