"""Speed of opsbot against the raw floor, measured in the same run.

    python scripts/bench.py                 # corpus: ingest, re-ingest, answer latency, RSS
    python scripts/bench.py --scale         # synthetic 100k / 1M vectors (scripts/bench_scale.py)
    python scripts/bench.py --slack         # Slack round trip and burst (scripts/bench_slack.py)
    python scripts/bench.py --llm           # generated vs extractive (scripts/bench_llm.py)
    python scripts/bench.py --scale --backend postgres   # pgvector vs FAISS HNSW (bench_pg.py)
    python scripts/bench.py --backend postgres --index-dir D --index-url URL  # answers, RSS

Ratios, not absolute seconds, are the figures to quote: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchlib import REPO, percentile, timed_opsbot

sys.path.insert(0, str(REPO))
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
DEFAULT_QUESTIONS = REPO.parent / "shared" / "eval"


def bench_ingest(corpus: Path, work: Path) -> dict:
    from bot.config import Settings
    from bot.index.embedder import Embedder
    from bot.ingest.loaders import discover
    from bot.ingest.pipeline import build_chunks, ingest

    embedder = Embedder()
    embedder.load()
    settings = Settings(knowledge_dirs=(corpus,), index_dir=work / "index", data_dir=work / "data")
    files, _ = discover(corpus, settings.max_file_bytes)
    chunks, _, _ = build_chunks(files, settings, embedder)
    texts = [c.embed_text for c in chunks]
    model = embedder.load()
    model.encode(texts[:64])  # warm up once, before both timings
    started = time.perf_counter()
    model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    floor = time.perf_counter() - started  # the raw floor: a bare model.encode
    summary = ingest(settings, embedder=embedder)
    reingest_runs = []
    for _ in range(3):
        reingest_runs.append(
            timed_opsbot(
                "ingest", "--knowledge-dir", str(corpus), "--index-dir", str(settings.index_dir)
            )
        )
    return {
        "files": summary.files,
        "chunks": summary.chunks,
        "encode_floor_s": round(floor, 2),
        "ingest_s": round(summary.seconds, 2),
        "ingest_ratio": round(summary.seconds / floor, 3),
        "reingest_unchanged_s_median": round(statistics.median(reingest_runs), 2),
        "reingest_runs_s": [round(r, 2) for r in reingest_runs],
    }


def load_questions(eval_dir: Path, repeat: int) -> list[str]:
    questions = []
    for path in sorted(eval_dir.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                questions.append(json.loads(line)["question"])
    return questions * repeat


def bench_latency(corpus: Path, work: Path, questions: list[str]) -> dict:
    from bot.config import Settings
    from bot.engine.engine import Engine
    from bot.engine.retriever import POOL

    settings = Settings(knowledge_dirs=(corpus,), index_dir=work / "index", data_dir=work / "data")
    engine = Engine.open(settings)
    pool = POOL  # the floor retrieves as many candidates as stage 1 does
    floor_ms, full_ms = [], []
    for question in questions:
        started = time.perf_counter()
        vector = engine.embedder.encode_query(question)
        engine.index.search_vectors(vector, pool)
        floor_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        engine.answer(question)
        full_ms.append((time.perf_counter() - started) * 1000)
    p50_floor, p50_full = statistics.median(floor_ms), statistics.median(full_ms)
    return {
        "questions": len(questions),
        "floor_p50_ms": round(p50_floor, 2),
        "floor_p95_ms": round(percentile(floor_ms, 0.95), 2),
        "answer_p50_ms": round(p50_full, 2),
        "answer_p95_ms": round(percentile(full_ms, 0.95), 2),
        "p50_ratio": round(p50_full / p50_floor, 3),
        "p95_ratio": round(percentile(full_ms, 0.95) / percentile(floor_ms, 0.95), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--repeat", type=int, default=5, help="passes over the eval questions")
    parser.add_argument("--scale", action="store_true", help="synthetic 100k/1M index bench")
    parser.add_argument("--slack", action="store_true", help="Slack round-trip bench")
    parser.add_argument("--llm", action="store_true", help="generated vs extractive answers")
    parser.add_argument(
        "--backend",
        choices=["local", "postgres"],
        default="local",
        help="postgres: the shared index against the local one (scripts/bench_pg.py)",
    )
    args, rest = parser.parse_known_args(argv)
    if args.backend == "postgres":
        from bench_pg import main as pg_main

        return pg_main(["vectors" if args.scale else "corpus", *rest])
    if args.llm:
        from bench_llm import main as llm_main

        return llm_main(rest)
    if args.scale:
        from bench_scale import main as scale_main

        return scale_main(rest)
    if args.slack:
        from bench_slack import main as slack_main

        return slack_main(rest)
    work = Path(tempfile.mkdtemp(prefix="opsbot-bench-"))
    try:
        results = {"ingest": bench_ingest(args.corpus, work)}
        questions = load_questions(args.eval_dir, args.repeat)
        results["latency"] = bench_latency(args.corpus, work, questions)
        results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2))
    out = REPO / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "corpus.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(main())
