"""100,000 tiny files (issue 17): the ingest finishes with memory bounded, and its progress
keeps moving (a line at least every PROGRESS_GAP seconds, no tty). Slow: run with -m slow."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

FILES = 100_000
PROGRESS_GAP = 30.0  # seconds without a line at most (lines come every 5 s)
MAX_RSS_MB = 3_000  # peak resident memory of the ingest process tree


@pytest.mark.slow
def test_100k_tiny_files_ingest_with_bounded_memory_and_visible_progress(tmp_path: Path):
    kb = tmp_path / "kb"
    for i in range(FILES):
        folder = kb / f"team-{i // 1000:03d}"
        if i % 1000 == 0:
            folder.mkdir(parents=True)
        (folder / f"note-{i}.md").write_text(
            f"# Host h{i}\n\nHost h{i} restarts with `svc restart h{i}` in rack {i % 97}.\n"
        )
    env = dict(os.environ, KNOWLEDGE_DIR=str(kb), INDEX_DIR=str(tmp_path / "idx"))
    env["DATA_DIR"] = str(tmp_path / "data")
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "ingest"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[tuple[float, str]] = []

    def read_progress() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append((time.monotonic() - started, line.rstrip()))

    reader = threading.Thread(target=read_progress)
    reader.start()
    out, _ = proc.communicate(timeout=3 * 3600)
    reader.join()
    seconds = time.monotonic() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"\n100k files: {seconds:.0f}s, peak RSS {peak_mb:.0f} MB, {len(lines)} progress lines")
    assert proc.returncode == 0, (out, lines[-20:])
    assert f"Indexed {FILES} files" in out
    stamps = [0.0] + [t for t, _ in lines] + [seconds]
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert max(gaps) <= PROGRESS_GAP, (max(gaps), lines)
    assert any(text.startswith("Reading: ") for _, text in lines)
    assert any(text.startswith("Embedding: loading model") for _, text in lines)
    assert any("left" in text for _, text in lines if text.startswith("Embedding: "))
    assert peak_mb < MAX_RSS_MB
