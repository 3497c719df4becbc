"""Ingest with the real model: caching, atomic builds, clear errors on a bad index."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.config import Settings
from bot.engine.engine import Engine
from bot.index import builds
from bot.index.lexical import LexicalIndex
from bot.ingest import embed, pipeline

DOC_A = "# Alpha Runbook\n\n## Restarting\n\nTo restart the alpha service run `alpha restart`.\n"
DOC_B = "# Beta Guide\n\n## Scaling\n\nBeta scales horizontally with more replicas.\n"


@pytest.fixture()
def kb(tmp_path: Path) -> Settings:
    knowledge = tmp_path / "kb"
    (knowledge / "sub").mkdir(parents=True)
    (knowledge / "alpha.md").write_text(DOC_A)
    (knowledge / "sub" / "beta.md").write_text(DOC_B)
    return Settings(
        knowledge_dirs=(knowledge,), index_dir=tmp_path / "idx", data_dir=tmp_path / "d"
    )


def test_ingest_then_reingest_embeds_only_changes(kb: Settings):
    first = pipeline.ingest(kb)
    assert (first.files, first.embedded, first.up_to_date) == (2, first.chunks, False)
    manifest = builds.read_manifest(kb.index_dir)
    assert manifest is not None
    assert set(manifest.files) == {"alpha.md", "sub/beta.md"}
    assert manifest.dimension == 384
    assert manifest.chunker["max_tokens"] == 256
    assert manifest.index["kind"] == "flat"

    again = pipeline.ingest(kb)
    assert again.up_to_date and again.embedded == 0

    (kb.knowledge_dir / "sub" / "beta.md").write_text(DOC_B + "\nBeta also supports blue-green.\n")
    changed = pipeline.ingest(kb)
    assert not changed.up_to_date
    assert 1 <= changed.embedded < changed.chunks + 1
    assert changed.embedded <= 2


def test_bad_files_are_skipped_not_fatal(kb: Settings):
    (kb.knowledge_dir / "blob.md").write_bytes(b"\x00\x01\x02binary\x00")
    (kb.knowledge_dir / "latin.txt").write_bytes("caf\xe9".encode("latin-1") + b"\xff\xfe")
    (kb.knowledge_dir / "empty.md").write_text("")
    summary = pipeline.ingest(kb)
    skipped = {s.path for s in summary.skipped}
    assert {"blob.md", "latin.txt", "empty.md"} <= skipped
    assert summary.files == 2
    assert pipeline.ingest(kb).up_to_date  # bad files don't force endless re-ingests


def test_crash_mid_ingest_keeps_old_index(kb: Settings, monkeypatch):
    pipeline.ingest(kb)
    old = builds.load(kb.index_dir)
    (kb.knowledge_dir / "alpha.md").write_text(DOC_A + "\nNew paragraph about alpha logs.\n")

    def boom(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(LexicalIndex, "save", boom)
    with pytest.raises(OSError):
        pipeline.ingest(kb)
    monkeypatch.undo()
    survivor = builds.load(kb.index_dir)
    assert survivor.manifest.files == old.manifest.files
    assert not any(p.name.startswith(".tmp") for p in (kb.index_dir / "builds").iterdir())


def test_an_interrupted_embedding_resumes_from_the_groups_already_cached(kb: Settings, monkeypatch):
    """Embedding is streamed in groups, each committed to the cache: a run stopped midway
    (killed, out of memory) does not embed those passages again."""
    from bot.index.embedder import Embedder

    for i in range(10):
        (kb.knowledge_dir / f"host-{i}.md").write_text(
            f"# Host h{i}\n\nHost h{i} is in rack {i}.\n"
        )
    monkeypatch.setattr(embed, "GROUP", 4)
    real = Embedder.encode_passages
    calls: list[int] = []

    def stopped_at_the_second_group(self, texts, spans, *, progress=None):
        calls.append(len(texts))
        if len(calls) == 2:
            raise RuntimeError("killed mid-ingest")
        return real(self, texts, spans, progress=progress)

    monkeypatch.setattr(Embedder, "encode_passages", stopped_at_the_second_group)
    with pytest.raises(RuntimeError, match="killed"):
        pipeline.ingest(kb)
    assert calls == [4, 4]
    monkeypatch.setattr(Embedder, "encode_passages", real)
    summary = pipeline.ingest(kb)
    assert summary.chunks == 12
    assert summary.embedded == summary.chunks - 4


def test_model_mismatch_and_corruption_say_reingest(kb: Settings):
    pipeline.ingest(kb)
    with pytest.raises(builds.IndexLoadError, match="opsbot ingest"):
        builds.load(kb.index_dir, expected_model="some/other-model")

    build = (kb.index_dir / "current").resolve()
    (build / "vectors.faiss").write_bytes(b"garbage")
    with pytest.raises(builds.IndexLoadError, match="opsbot ingest"):
        builds.load(kb.index_dir)

    (build / "manifest.json").write_text("{not json")
    with pytest.raises(builds.IndexLoadError, match="opsbot ingest"):
        builds.load(kb.index_dir)


def test_dimension_mismatch_is_reported(kb: Settings):
    pipeline.ingest(kb)
    path = (kb.index_dir / "current").resolve() / "manifest.json"
    data = json.loads(path.read_text())
    data["dimension"] = 768
    path.write_text(json.dumps(data))
    with pytest.raises(builds.IndexLoadError, match="dimension"):
        builds.load(kb.index_dir)


def test_engine_open_ingests_when_stale(kb: Settings):
    messages: list[str] = []
    engine = Engine.open(kb, notify=messages.append)
    assert any("ingesting" in m for m in messages)
    answer = engine.answer("how do I restart the alpha service?")
    assert answer.answered and answer.sources[0].path == "alpha.md"
    shutil.rmtree(kb.index_dir / "builds")
    with pytest.raises(builds.IndexLoadError):
        builds.load(kb.index_dir)


def test_loaded_chunks_are_read_on_demand_and_match_what_was_written(kb: Settings):
    from bot.index.chunktable import ChunkTable

    pipeline.ingest(kb)
    loaded = builds.load(kb.index_dir)
    assert isinstance(loaded.chunks, ChunkTable)
    assert len(loaded.chunks) == loaded.manifest.chunk_count == loaded.vectors.ntotal
    assert {c.path for c in loaded.chunks} == {"alpha.md", "sub/beta.md"}
    assert loaded.chunks[-1] == loaded.chunks[len(loaded.chunks) - 1]
    assert loaded.manifest.documents == {
        "alpha.md": ["Alpha Runbook", 1],
        "sub/beta.md": ["Beta Guide", 1],
    }
    with pytest.raises(IndexError):
        loaded.chunks[len(loaded.chunks)]
    # ingest learned the docs' vocabulary from headings and texts, and the build kept it
    assert loaded.vocabulary.knows("horizontally") and loaded.vocabulary.knows("runbook")
    assert loaded.vocabulary.documents == loaded.manifest.chunk_count


def test_torn_chunks_file_is_reported(kb: Settings):
    pipeline.ingest(kb)
    path = (kb.index_dir / "current").resolve() / "chunks.jsonl"
    path.write_bytes(path.read_bytes()[:-20])  # a crash mid-write, by hand
    with pytest.raises(builds.IndexLoadError, match="opsbot ingest"):
        builds.load(kb.index_dir)


def test_several_roots_prefix_paths_and_reingest_when_any_root_changes(kb: Settings, tmp_path):
    team = tmp_path / "team-docs"
    team.mkdir()
    (team / "paging.md").write_text(
        "# Paging\n\n## Escalation\n\nPage the secondary after 15 minutes.\n"
    )
    both = kb.with_overrides(knowledge_dirs=(kb.knowledge_dir, team))
    first = pipeline.ingest(both)
    manifest = builds.read_manifest(both.index_dir)
    assert manifest is not None
    assert set(manifest.files) == {"kb/alpha.md", "kb/sub/beta.md", "team-docs/paging.md"}
    assert first.files == 3
    assert pipeline.ingest(both).up_to_date
    (team / "paging.md").write_text(
        "# Paging\n\n## Escalation\n\nPage the secondary after 5 min.\n"
    )
    assert not pipeline.check_fresh(both)


def test_several_roots_with_the_same_folder_name_are_refused(kb: Settings, tmp_path):
    from bot.config import ConfigError

    other = tmp_path / "elsewhere" / "kb"
    other.mkdir(parents=True)
    with pytest.raises(ConfigError, match="same name"):
        kb.with_overrides(knowledge_dirs=(kb.knowledge_dir, other)).require_knowledge_dirs()


def test_ingest_without_a_terminal_reports_progress_lines(kb: Settings, monkeypatch):
    from bot.ingest import progress

    monkeypatch.setattr(progress, "EVERY_SECONDS", 0.0)  # every tick, not every 5 s
    lines: list[str] = []
    from bot.index import embedder as models

    # an earlier test in this process may have loaded the model: then there is no wait
    cold = models.Embedder(kb.embedding_model).name not in models._LOADED
    pipeline.ingest(kb, notify=lines.append)
    reading = [line for line in lines if line.startswith("Reading: ")]
    embedding = [line for line in lines if line.startswith("Embedding: ")]
    assert reading and embedding, lines
    if cold:
        assert embedding[0].startswith("Embedding: loading model"), embedding  # not silent
    assert "Embedding: 2 chunks done" in lines
    steps = [line.split(":")[0] for line in lines]
    assert steps.index("Finding files") < steps.index("Reading") < steps.index("Indexing")
    assert lines[-1] == "Writing: done"


def test_progress_line_has_percent_rate_and_eta():
    from bot.ingest.progress import Progress

    bar = Progress(200, "Embedding", every=0.0, notify=None)
    bar.started -= 10  # ten seconds in
    bar.update(50)
    assert bar.line(bar.started + 10) == "Embedding: 50/200 chunks (25%), 5/s, about 30s left"


def test_progress_says_loading_model_and_its_eta_skips_the_load_and_weighs_work():
    """Issue 17: 66 s of silence while the model loaded, then an ETA of 1 h 02 m for a run
    that took 14 min (the load and the longest-first batches were extrapolated)."""
    from bot.ingest.progress import Progress

    now = [0.0]
    cumulative = [0, 10, 20, 21, 22]  # longest first: two heavy passages, two light ones
    bar = Progress(
        4, "Embedding", warmup="loading model", cost=lambda n: cumulative[n], clock=lambda: now[0]
    )
    now[0] = 60.0
    assert bar.line() == "Embedding: loading model (1m00s so far), 0/4 chunks"
    bar.update(1)  # the first batch ends the warm-up
    assert bar.line().endswith("estimating time left")
    now[0] = 70.0
    bar.update(1)
    assert bar.line() == "Embedding: 2/4 chunks (50%), 0/s, about 2s left"


def test_steps_without_parts_say_what_they_do_every_few_seconds():
    """100k files: finding files, building the indexes and saving took minutes, silently."""
    import time

    from bot.ingest.progress import stage

    lines: list[str] = []
    with stage("Indexing", "building the indexes of 9 chunks", notify=lines.append, every=0.05):
        time.sleep(0.3)
    assert lines[0].startswith("Indexing: building the indexes of 9 chunks (0s so far)")
    assert len(lines) >= 3 and lines[-1] == "Indexing: done"


def test_short_steps_in_a_row_never_add_up_to_a_long_silence():
    """100k files: one 40 s gap without a line, though every step alone was shorter than
    the line interval. Steps on one notify stream share when it last got a line."""
    import time

    from bot.ingest.progress import stage

    every = 0.5
    stamps: list[float] = []

    def note(_line: str) -> None:  # one stream, as an ingest passes to all its steps
        stamps.append(time.monotonic())

    started = time.monotonic()
    for name in ("Finding files", "Reading", "Indexing", "Writing"):
        with stage(name, "working", notify=note, every=every):
            time.sleep(every * 0.8)  # each step alone is too short for a line of its own
    ended = time.monotonic()
    moments = [started, *stamps, ended]
    gaps = [b - a for a, b in zip(moments, moments[1:], strict=False)]
    assert stamps, "four steps of 0.4 s each passed without a single line"
    assert max(gaps) < 2 * every, gaps
