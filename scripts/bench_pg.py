"""The shared index (PostgreSQL + pgvector) against the local one (FAISS + BM25), same run.

    python scripts/bench_pg.py vectors --sizes 100000 [--queries 300]   # HNSW vs HNSW
        [--ef-search 200,400] [--pg-m 32 --pg-ef-construction 80] [--skip-faiss]
    python scripts/bench_pg.py corpus --index-dir D --index-url URL      # answers, RSS, ingest
    python scripts/bench_pg.py embed --base-url http://host/v1 [--model M]  # server vs in-process
    python scripts/bench_pg.py ingest --index-dir D --index-url URL [--knowledge-dir K]

`vectors` starts its own PostgreSQL (the `pgserver` wheel) unless --index-url is given;
1M takes ~20 min on 2 busy cores for each side (FAISS build ~6-10 min, pgvector ~9-11 min).
`corpus` expects both indexes of ../shared/corpus already built (e.g. by `opsbot eval`).
Ratios are the figures to quote: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from bench_scale import clustered, pct, recall
from benchlib import REPO, timed_opsbot

sys.path.insert(0, str(REPO))
from bot.index.pghnsw import HNSW_EF_CONSTRUCTION, HNSW_M  # noqa: E402

K = 10
CORPUS = REPO.parent / "shared" / "corpus"
EVAL = REPO.parent / "shared" / "eval"


def _pg_url(given: str, folder: Path) -> tuple[str, Any]:
    if given:
        return given, None
    import pgserver

    folder.chmod(0o755)
    server = pgserver.get_server(folder / "pg", cleanup_mode="delete")
    return server.get_uri(), server


def _say(what: str) -> None:
    """Progress on stderr (a 1M run takes a while): time, load average, what."""
    load = os.getloadavg()[0]
    print(f"{time.strftime('%H:%M:%S')} load {load:.1f}: {what}", file=sys.stderr, flush=True)


def bench_vectors(n: int, args: argparse.Namespace, url: str) -> dict[str, Any]:
    """recall@10 and per-query latency of FAISS HNSW and pgvector HNSW on the same points.

    pgvector's index is made by the backend's own create_hnsw_index (same parameters, same
    maintenance_work_mem sizing) after a binary COPY, as an ingest does."""
    import psycopg

    from bot.index import vectors as vec
    from bot.index.pgbuild import vector_literal
    from bot.index.pgconn import EF_SEARCH
    from bot.index.pghnsw import binary_copy, create_hnsw_index

    loads = [os.getloadavg()[0]]
    xb = clustered(n, args, draw_seed=1)
    xq = clustered(args.queries, args, draw_seed=2)
    _say(f"{n}: exact ground truth")
    truth = vec.search(vec.build_vector_index(xb, exact_limit=n + 1), xq, K)[1]
    faiss: dict[str, Any] = {}
    if not args.skip_faiss:
        _say(f"{n}: FAISS HNSW build")
        started = time.perf_counter()
        faiss_index = vec.build_vector_index(xb, exact_limit=1)
        faiss["build_s"] = round(time.perf_counter() - started, 1)
        faiss_times, faiss_found = [], []
        for q in xq:
            t = time.perf_counter()
            faiss_found.append(vec.search(faiss_index, q, K)[1][0])
            faiss_times.append(time.perf_counter() - t)
        del faiss_index
        faiss.update(recall_at_10=recall(np.array(faiss_found), truth), **pct(faiss_times))
    loads.append(os.getloadavg()[0])
    notices: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute("DROP TABLE IF EXISTS bench_vectors")
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        conn.execute(f"CREATE TABLE bench_vectors (id int, embedding vector({xb.shape[1]}))")
        _say(f"{n}: COPY into PostgreSQL")
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy("COPY bench_vectors FROM STDIN (FORMAT BINARY)") as c:
            for block in binary_copy(xb):
                c.write(block)
        load_s = time.perf_counter() - started
        _say(f"{n}: pgvector HNSW build")
        started = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SET LOCAL client_min_messages = notice")
            create_hnsw_index(
                cur, "bench_vectors", n, xb.shape[1], args.pg_m, args.pg_ef_construction
            )
            memory = cur.execute("SHOW maintenance_work_mem").fetchone()
            workers = cur.execute("SHOW max_parallel_maintenance_workers").fetchone()
        pg_build = time.perf_counter() - started
        loads.append(os.getloadavg()[0])
        sql = "SELECT id FROM bench_vectors ORDER BY embedding <#> %s::vector LIMIT %s"
        sweep = []
        for ef in [EF_SEARCH] + [int(e) for e in args.ef_search.split(",") if e]:
            _say(f"{n}: searches, hnsw.ef_search = {ef}")
            conn.execute(f"SET hnsw.ef_search = {ef}")
            pg_times, pg_found = [], []
            for q in xq:
                literal = vector_literal(q)
                t = time.perf_counter()
                ids = [r[0] for r in conn.execute(sql, (literal, K)).fetchall()]
                pg_times.append(time.perf_counter() - t)
                pg_found.append(np.array(ids + [-1] * (K - len(ids))))
            found = {"recall_at_10": recall(np.array(pg_found), truth), **pct(pg_times)}
            sweep.append({"ef_search": ef, **found})
        size = conn.execute("SELECT pg_total_relation_size('bench_vectors')").fetchone()
        conn.execute("DROP TABLE bench_vectors")
    loads.append(os.getloadavg()[0])
    pg = {k: v for k, v in sweep[0].items() if k != "ef_search"}  # the backend's setting
    return {
        "n": n,
        "queries": len(xq),
        "faiss_hnsw": faiss or "skipped (--skip-faiss)",
        "pgvector_hnsw": {
            **pg,
            "copy_s": round(load_s, 1),
            "build_s": round(pg_build, 1),
            "maintenance_work_mem": memory[0] if memory else "",
            "parallel_workers": workers[0] if workers else "",
            "notices": notices,
            "table_bytes": size[0] if size else 0,
            "hnsw": {"m": args.pg_m, "ef_construction": args.pg_ef_construction},
        },
        "pgvector_ef_search_sweep": sweep[1:],
        **(
            {
                "p50_ratio": round(pg["p50_ms"] / faiss["p50_ms"], 2),
                "p99_ratio": round(pg["p99_ms"] / faiss["p99_ms"], 2),
            }
            if faiss
            else {}
        ),
        "load_average": loads,  # start, after FAISS, after the pgvector build, end
    }


SERVE_CHILD = """
import json, statistics, sys, time
sys.path.insert(0, sys.argv[3])
from benchlib import mem
from bot.config import Settings
from bot.engine.engine import Engine
where, questions = sys.argv[1], json.loads(open(sys.argv[2]).read())
from pathlib import Path
settings = Settings(index_url=where) if where.startswith("postgresql") else Settings(
    index_dir=Path(where), knowledge_dirs=(Path(sys.argv[4]),))
engine = Engine.open(settings, auto_ingest=False, notify=lambda _m: None)
for q in questions[:5]:
    engine.answer(q)
times = []
for q in questions:
    t = time.perf_counter(); engine.answer(q); times.append((time.perf_counter() - t) * 1000)
print(json.dumps({"answer_p50_ms": statistics.median(times), "rss": mem()}))
"""


def bench_corpus(args: argparse.Namespace) -> dict[str, Any]:
    """Answer p50 and serving RSS per backend (fresh processes), and a warm-cache ingest."""
    questions = []
    for path in sorted(EVAL.glob("corpus-dev.jsonl")):
        questions += [
            json.loads(line)["question"] for line in path.read_text().splitlines() if line
        ]
    qfile = Path(tempfile.mkdtemp()) / "questions.json"
    qfile.write_text(json.dumps(questions * args.repeat))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out: dict[str, Any] = {"questions": len(questions) * args.repeat}
    for name, where in (("local", str(args.index_dir)), ("postgres", args.index_url)):
        cmd = [
            sys.executable,
            "-c",
            SERVE_CHILD,
            where,
            str(qfile),
            str(REPO / "scripts"),
            str(CORPUS),
        ]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"{name}: {done.stderr[-3000:]}")
        out[name] = json.loads(done.stdout.strip().splitlines()[-1])
        if args.skip_ingest:
            continue
        flag = (
            ["--index-url", args.index_url]
            if name == "postgres"
            else ["--index-dir", str(args.index_dir)]
        )
        seconds = timed_opsbot("ingest", "--force", "--knowledge-dir", str(CORPUS), *flag, env=env)
        out[name]["ingest_warm_cache_s"] = round(seconds, 1)
    local, pg = out["local"], out["postgres"]
    out["answer_p50_ratio"] = round(pg["answer_p50_ms"] / local["answer_p50_ms"], 2)
    out["rss_ratio"] = round(pg["rss"]["rss"] / local["rss"]["rss"], 2)
    if not args.skip_ingest:
        out["ingest_ratio"] = round(pg["ingest_warm_cache_s"] / local["ingest_warm_cache_s"], 2)
    return out


def bench_ingest(args: argparse.Namespace) -> dict[str, Any]:
    """A warm-cache ingest (--force) of one folder into each backend, in one process with the
    model loaded once. Calibration sends the same ~190 questions through the model on both
    sides; that time is reported apart, so `rest_ratio` is what the backend itself costs."""
    from bot.config import Settings
    from bot.index.embedder import Embedder
    from bot.ingest.pipeline import ingest

    embedder = Embedder(Settings().embedding_model)
    model_s, depth = [0.0], [0]

    def timing(inner: Any) -> Any:
        def timed(*a: Any, **kw: Any) -> Any:
            depth[0] += 1
            started = time.perf_counter()
            try:
                return inner(*a, **kw)
            finally:
                depth[0] -= 1
                if not depth[0]:  # the outermost call only
                    model_s[0] += time.perf_counter() - started

        return timed

    for name in ("encode", "encode_passages", "encode_query"):
        setattr(embedder, name, timing(getattr(embedder, name)))
    embedder.encode(["warm up"])
    out: dict[str, Any] = {"knowledge": str(args.knowledge_dir)}
    for backend in ("local", "postgres"):
        where: dict[str, Any] = (
            {"index_url": args.index_url}
            if backend == "postgres"
            else {"index_dir": args.index_dir}
        )
        settings = Settings(knowledge_dirs=(args.knowledge_dir,), **where)
        model_s[0] = 0.0
        started = time.perf_counter()
        summary = ingest(settings, embedder=embedder, force=True)
        wall = time.perf_counter() - started
        out[backend] = {
            "chunks": summary.chunks,
            "embedded": summary.embedded,
            "wall_s": round(wall, 1),
            "model_s": round(model_s[0], 1),
            "rest_s": round(wall - model_s[0], 1),
            "load_average": os.getloadavg()[0],
        }
    local, pg = out["local"], out["postgres"]
    out["wall_ratio"] = round(pg["wall_s"] / local["wall_s"], 2)
    out["rest_ratio"] = round(pg["rest_s"] / local["rest_s"], 2)
    return out


def bench_embed(args: argparse.Namespace) -> dict[str, Any]:
    """Passages a second: the in-process model against the server, on the same texts."""
    from bot.index.embedder import Embedder
    from bot.index.embedserver import ServerEmbedder

    texts = [
        p.read_text(errors="replace")[:1000] for p in sorted(CORPUS.rglob("*.md"))[: args.texts]
    ]
    local = Embedder()
    local.encode(texts[:8])
    started = time.perf_counter()
    local.encode(texts)
    local_s = time.perf_counter() - started
    server = ServerEmbedder(
        args.base_url, args.model, batch=args.batch, concurrency=args.concurrency
    )
    server.encode(texts[:2])
    started = time.perf_counter()
    server.encode(texts)
    server_s = time.perf_counter() - started
    return {
        "texts": len(texts),
        "in_process_per_s": round(len(texts) / local_s, 1),
        "server_per_s": round(len(texts) / server_s, 1),
        "server_model": args.model,
        "ratio": round(local_s / server_s, 2),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["vectors", "corpus", "embed", "ingest"])
    ap.add_argument("--sizes", default="100000")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--centres", type=int, default=1000)
    ap.add_argument("--noise", type=float, default=1.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--index-url", default="")
    ap.add_argument("--ef-search", default="", help="vectors: more hnsw.ef_search values to try")
    ap.add_argument("--pg-m", type=int, default=HNSW_M, help="vectors: pgvector HNSW m")
    ap.add_argument("--pg-ef-construction", type=int, default=HNSW_EF_CONSTRUCTION)
    ap.add_argument("--skip-faiss", action="store_true", help="vectors: pgvector only")
    ap.add_argument("--index-dir", type=Path)
    ap.add_argument("--knowledge-dir", type=Path, default=CORPUS, help="ingest: what to index")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-ingest", action="store_true", help="corpus: answers and RSS only")
    ap.add_argument("--base-url", default="")
    ap.add_argument("--model", default="")
    ap.add_argument("--texts", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--concurrency", type=int, default=2)
    args = ap.parse_args(argv)
    if args.what == "vectors":
        url, server = _pg_url(args.index_url, Path(tempfile.mkdtemp()))
        try:
            for n in (int(s) for s in args.sizes.split(",")):
                print(json.dumps(bench_vectors(n, args, url)), flush=True)
        finally:
            if server is not None:
                server.cleanup()
    elif args.what == "ingest":
        print(json.dumps(bench_ingest(args)))
    elif args.what == "corpus":
        print(json.dumps(bench_corpus(args)))
    else:
        print(json.dumps(bench_embed(args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
