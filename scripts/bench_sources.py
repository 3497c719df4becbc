"""Ingesting a git source against a folder holding the same Markdown, in the same run.

    python scripts/bench_sources.py [--corpus ../shared/corpus]

The corpus is committed into a temporary repository served by a real `git daemon` on
loopback. Reported:
  - transfer floor: a bare `git clone --depth 1` of that repository;
  - folder vs git ingest, both from the same warm embedding cache (the embedding work is
    identical, so the ratio shows what the source itself costs), and the git ingest minus
    the transfer floor against the folder;
  - an unchanged re-sync of the git source (fetch + hashes, no embedding): seconds and
    chunks embedded (must be 0), against the ≤ 2 s plus transfer target.
Ratios, not absolute seconds, are the figures to quote: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "b",
    "GIT_AUTHOR_EMAIL": "b@example.com",
    "GIT_COMMITTER_NAME": "b",
    "GIT_COMMITTER_EMAIL": "b@example.com",
}


def run_git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True)


def timed(fn):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument(
        "--warm-cache",
        type=Path,
        help="copy this embeddings.sqlite in first (skips the cold embedding, same for both)",
    )
    args = parser.parse_args()

    from gitservers import git_daemon

    from bot.config import Settings
    from bot.index.embedder import Embedder
    from bot.ingest.pipeline import cache_path, check_fresh, ingest
    from bot.sources.spec import parse_source

    work = Path(tempfile.mkdtemp(prefix="bench-sources-"))
    try:
        served = work / "served"
        served.mkdir()
        tree = work / "tree"
        shutil.copytree(args.corpus, tree)  # a temporary copy, outside the repo
        run_git(tree, "init", "-q", "-b", "main")
        run_git(tree, "add", "-A")
        run_git(tree, "commit", "-q", "-m", "corpus")
        run_git(work, "clone", "-q", "--bare", str(tree), str(served / "corpus.git"))
        embedder = Embedder()
        embedder.load()

        folder = Settings(
            knowledge_dirs=(args.corpus,), index_dir=work / "fi", data_dir=work / "fd"
        )
        if args.warm_cache:
            (work / "fi").mkdir()
            shutil.copy(args.warm_cache, cache_path(folder))
        first = ingest(folder, embedder=embedder)  # fills the embedding cache
        with git_daemon(served) as url:
            clone_seconds, _ = timed(
                lambda: run_git(work, "clone", "-q", "--depth", "1", f"{url}corpus.git", "c")
            )
            spec = parse_source(f"git+{url}corpus.git")
            git = Settings(knowledge_sources=(spec,), index_dir=work / "gi", data_dir=work / "gd")
            (work / "gi").mkdir()
            shutil.copy(cache_path(folder), cache_path(git))  # same warm cache for both
            folder_seconds, _ = timed(lambda: ingest(folder, embedder=embedder, force=True))
            git_seconds, git_summary = timed(lambda: ingest(git, embedder=embedder))
            resync_seconds, again = timed(lambda: ingest(git, embedder=embedder))
            fresh_seconds, fresh = timed(lambda: check_fresh(git, embedder))
        report = {
            "files": first.files,
            "chunks": first.chunks,
            "transfer_floor_s": round(clone_seconds, 3),
            "folder_ingest_s": round(folder_seconds, 2),
            "git_ingest_s": round(git_seconds, 2),
            "git_over_folder": round(git_seconds / folder_seconds, 3),
            "git_minus_transfer_over_folder": round(
                (git_seconds - clone_seconds) / folder_seconds, 3
            ),
            "git_embedded_with_warm_cache": git_summary.embedded,
            "unchanged_resync_s": round(resync_seconds, 3),
            "unchanged_resync_embedded": again.embedded,
            "unchanged_resync_up_to_date": again.up_to_date,
            "check_fresh_s": round(fresh_seconds, 3),
            "check_fresh": fresh,
            "resync_target_met": again.embedded == 0 and resync_seconds <= 2 + clone_seconds,
        }
        print(json.dumps(report, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
