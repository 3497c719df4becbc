"""`opsbot sources` and the empty-knowledge warnings: no model, no network."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bot.config import Settings
from bot.index import builds
from bot.sources.base import SourceState
from bot.sources.spec import parse_source
from bot.sources.state import save_state
from bot.sources.status import empty_warning, health_entries, source_status

SCRIPT = """
import sys
from bot.cli import main
sys.argv = ["opsbot", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    assert "sentence_transformers" not in sys.modules, "the model was imported"
    raise
"""


def _manifest(index_dir: Path, paths: list[str]) -> None:
    build = index_dir / "current"
    build.mkdir(parents=True)
    manifest = builds.Manifest(
        model="m",
        dimension=3,
        chunker={},
        files={},
        chunk_count=len(paths),
        documents={p: ["T", 1] for p in paths},
    )
    from dataclasses import asdict

    (build / "manifest.json").write_text(json.dumps(asdict(manifest)))


def test_sources_lists_each_source_without_loading_the_model(tmp_path):
    docs, empty = tmp_path / "docs", tmp_path / "empty"
    docs.mkdir()
    empty.mkdir()
    (docs / "a.md").write_text("# A\n")
    _manifest(tmp_path / "index", ["docs/a.md", "repo/b.md", "repo/c.md"])
    settings = Settings(
        knowledge_dirs=(docs, empty),
        knowledge_sources=(parse_source("repo=git+https://u:tok@example.com/r.git"),),
        data_dir=tmp_path / "data",
        index_dir=tmp_path / "index",
    )
    synced = time.time()
    save_state(settings, SourceState("repo", "git", "https://example.com/r.git", synced, "a" * 40))
    save_state(settings, SourceState("empty", "folder", str(empty), synced, "0 files", error=""))
    env = {"DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    argv = ["sources", "--knowledge-dir", str(docs), "--knowledge-dir", str(empty)]
    argv += ["--source", "repo=git+https://u:tok@example.com/r.git"]
    argv += ["--index-dir", str(tmp_path / "index")]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *argv, "--json"],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(Path.cwd())},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    listed = {s["name"]: s for s in json.loads(done.stdout)}
    assert [listed[n]["documents"] for n in ("docs", "empty", "repo")] == [1, 0, 2]
    assert listed["repo"]["revision"] == "a" * 40 and listed["repo"]["healthy"]
    assert not listed["empty"]["healthy"] and not listed["docs"]["synced_at"]
    assert "tok" not in done.stdout
    table = subprocess.run(
        [sys.executable, "-c", SCRIPT, *argv],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(Path.cwd())},
        timeout=60,
    )
    lines = table.stdout.splitlines()
    assert lines[0].split()[:5] == ["KIND", "NAME", "LAST", "SYNC", "REVISION"]
    assert any(line.split()[:2] == ["git", "repo"] and "aaaaaaaaaaaa" in line for line in lines)
    states = source_status(settings)
    assert "'empty'" in empty_warning(states) and "0 documents" in empty_warning(states)


def test_no_documents_at_all_is_one_warning(tmp_path):
    settings = Settings(knowledge_dirs=(tmp_path,), index_dir=tmp_path / "i")
    warning = empty_warning(source_status(settings))
    assert warning.startswith("warning: knowledge is empty") and "declined" in warning


def test_the_report_links_documents_with_the_url_answers_used(tmp_path):
    from bot.report.data import build_report
    from bot.report.render import render_report
    from bot.store import Interaction, open_store

    url = "https://github.com/o/r/blob/abc/runbooks/restart.md"
    store = open_store(Settings(database_url=f"sqlite:///{tmp_path / 's.db'}"))
    try:
        source = {"path": "restart.md", "title": "Restart", "heading": "Restart › Alpha"}
        interaction = Interaction("q?", "a", [{**source, "url": url + "#alpha"}], True)
        store.record_vote(store.save_interaction(interaction), "U1", "C1", "down")
        report = build_report(
            store,
            since_seconds=3600,
            window="1h",
            questions_stored=True,
            embed=lambda texts: np.eye(len(texts), 8, dtype=np.float32),  # no model needed
        )
    finally:
        store.close()
    assert report.topics[0].url == url and report.downvoted_sources[0].url == url
    state = SourceState("docs", "git", "https://example.com/r.git", time.time(), "b" * 40, 3)
    report.knowledge = health_entries([state])
    assert "<h2>Knowledge sources</h2>" in render_report(report, "html")
    text = render_report(report, "text")
    assert "Knowledge sources:" in text and "bbbbbbbbbbbb" in text
    assert f'<a href="{url}">Restart</a>' in render_report(report, "html")
    assert f"Restart (restart.md) {url}" in render_report(report, "text")
