"""Scale benchmark for the dense (faiss) and lexical (BM25) indexes on synthetic data.

Why: the real knowledge base is far smaller than 1M chunks; this shows where build
time, latency, recall and memory will stand before it gets there.

    python scripts/bench_scale.py [--sizes 100000,1000000] [--queries 1000]

Vectors: 384-d, normalised, clustered (centre + gaussian noise of per-cluster
spread); queries are fresh draws from the same clusters. Texts: Zipf words.
Results: a table on stdout and JSON in bench-results/scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchlib import mem  # noqa: E402

from bot.index import vectors as vec  # noqa: E402
from bot.index.lexical import LexicalIndex, tokenize  # noqa: E402

K = 10

# A fresh interpreter that only loads the saved indexes, as the bot does.  Peak RSS
# is VmHWM: ru_maxrss would include the parent's RSS, inherited through fork/exec.
SERVE_CHILD = """
import json, sys, time
from pathlib import Path
import numpy as np
from bench_scale import timed
from benchlib import mem
from bot.index.lexical import LexicalIndex
from bot.index.vectors import load_index, search
out = {"start": mem()}
t0 = time.perf_counter()
index = load_index(Path(sys.argv[1]))
out["load_s"] = time.perf_counter() - t0
ids, lat = timed(lambda q: search(index, q, 10)[1][0], np.load(sys.argv[2]), int(sys.argv[4]))
np.save(sys.argv[3], np.array(ids))
out.update(lat, vectors=mem())
if len(sys.argv) > 5:
    lexical = LexicalIndex.load(Path(sys.argv[5]), mmap=True)
    queries = json.loads(Path(sys.argv[6]).read_text())
    out["bm25_mmap"] = timed(lambda q: lexical.search(q, 10), queries, 1)[1]
    out["with_bm25_mmap"] = mem()
print(json.dumps(out))
"""


def pct(times_s: list[float] | np.ndarray) -> dict[str, float]:
    ms = np.asarray(times_s) * 1e3
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


def rounds_pct(wall: list[list[float]], cpu: list[list[float]]) -> dict[str, Any]:
    """Median over rounds of each round's p50/p99: one noisy round can't set the figure.

    cpu_* is the searching thread's CPU time, which excludes time lost to other
    processes on this shared 2-core machine (wall minus cpu = contention).
    """
    w, c = [pct(r) for r in wall], [pct(r) for r in cpu]
    out = {
        f"{pre}{q}": float(np.median([r[q] for r in rs]))
        for pre, rs in (("", w), ("cpu_", c))
        for q in ("p50_ms", "p99_ms")
    }
    return out | {"p99_ms_rounds": [round(r["p99_ms"], 3) for r in w]}


def timed(fn: Any, items: Any, rounds: int) -> tuple[list[Any], dict[str, Any]]:
    """Call fn(item) one item at a time, ``rounds`` times; returns last round's results."""
    for item in items[:20]:  # warm-up
        fn(item)
    wall, cpu = [], []
    for _ in range(rounds):
        out, w, c = [], [], []
        for item in items:
            t, tc = time.perf_counter(), time.thread_time()
            out.append(fn(item))
            c.append(time.thread_time() - tc)
            w.append(time.perf_counter() - t)
        wall.append(w)
        cpu.append(c)
    return out, rounds_pct(wall, cpu)


def clustered(n: int, args: argparse.Namespace, draw_seed: int) -> np.ndarray:
    """n normalised points around args.centres fixed centres (same centres for every call)."""
    rng = np.random.default_rng(args.seed)
    centres = rng.standard_normal((args.centres, args.dim), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    spread = rng.uniform(0.5, 1.0, args.centres).astype(np.float32)
    spread *= args.noise / np.sqrt(args.dim)  # noise norm = noise * U(0.5, 1)
    rng = np.random.default_rng(draw_seed)
    out = np.empty((n, args.dim), dtype=np.float32)
    for start in range(0, n, 100_000):  # chunks keep float temporaries small
        end = min(n, start + 100_000)
        which = rng.integers(0, args.centres, end - start)
        block = rng.standard_normal((end - start, args.dim), dtype=np.float32)
        block *= spread[which, None]
        block += centres[which]
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start:end] = block
    return out


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    hits = sum(len(set(f[f >= 0]) & set(t)) for f, t in zip(found, truth, strict=True))
    return hits / truth.size


def bench_dense(n: int, args: argparse.Namespace, tmp: Path) -> tuple[Any, ...]:
    xb = clustered(n, args, draw_seed=1)
    xq = clustered(args.queries, args, draw_seed=2)
    rss0 = mem()["rss"]
    t = time.perf_counter()
    index = vec.build_vector_index(xb, exact_limit=args.exact_limit)
    build_s = time.perf_counter() - t
    rss_delta = mem()["rss"] - rss0
    found, lat = timed(lambda q, ix=index: vec.search(ix, q, K)[1][0], xq, args.rounds)
    flat = vec.build_vector_index(xb, exact_limit=n + 1)  # IndexFlatIP: ground truth
    truth = vec.search(flat, xq, K)[1]  # batched (BLAS); same kernel as single queries
    nflat = min(args.queries, args.flat_queries)
    _, flat_lat = timed(lambda q, ix=flat: vec.search(ix, q, K)[1][0], xq[:nflat], 1)
    path = tmp / f"vectors-{n}.faiss"
    vec.save_index(index, path)
    res = {"index": vec.describe_index(index), "build_s": build_s}
    res |= {"recall_at_10": recall(np.array(found), truth), **lat}
    res |= {"serialized_bytes": path.stat().st_size, "rss_delta_bytes": rss_delta}
    res |= {"raw_vector_bytes": xb.nbytes, "flat": {"queries": nflat, **flat_lat}}
    return path, xq, truth, res


def serve_child(
    vectors: Path, xq: np.ndarray, rounds: int, lexical: tuple[Path, list[str]] | None
) -> dict[str, Any]:
    """Run SERVE_CHILD on the saved indexes; returns its figures and the ids it found."""
    tmp = vectors.parent
    args = [str(vectors), str(tmp / "queries.npy"), str(tmp / "ids.npy"), str(rounds)]
    np.save(args[1], xq)
    if lexical:
        (tmp / "bm25-queries.json").write_text(json.dumps(lexical[1]), encoding="utf-8")
        args += [str(lexical[0]), str(tmp / "bm25-queries.json")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "scripts")])}
    cmd = [sys.executable, "-c", SERVE_CHILD, *args]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    return {**json.loads(out.stdout), "ids": np.load(args[2])}


def zipf_texts(n: int, args: argparse.Namespace, seed: int, lo: int, hi: int) -> list[str]:
    """Docs of lo..hi words from a Zipf(1) vocabulary of args.vocab words."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, args.vocab + 1)
    cdf = np.cumsum(p / p.sum())
    words = np.array([f"w{i}" for i in range(args.vocab)], dtype=object)
    lengths = rng.integers(lo, hi + 1, n)
    texts: list[str] = []
    for start in range(0, n, 50_000):
        lens = lengths[start : start + 50_000]
        draws = np.searchsorted(cdf, rng.random(int(lens.sum())), side="right")
        draws = np.minimum(draws, args.vocab - 1)
        bounds = np.concatenate(([0], np.cumsum(lens)))
        texts.extend(
            " ".join(words[draws[a:b]]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        )
    return texts


def bench_lexical(n: int, args: argparse.Namespace, tmp: Path) -> tuple[Any, ...]:
    texts = zipf_texts(n, args, seed=3, lo=60, hi=120)
    queries = zipf_texts(args.queries, args, seed=4, lo=3, hi=6)
    rss0 = mem()["rss"]
    t = time.perf_counter()
    index = LexicalIndex.build(texts)
    build_s = time.perf_counter() - t
    rss_delta = mem()["rss"] - rss0
    del texts
    _, lat = timed(lambda q: index.search(q, K), queries, args.rounds)
    native = index.as_bm25s()
    known = [t for q in queries[:200] if (t := [w for w in tokenize(q) if w in index.vocab])]
    _, native_lat = timed(lambda t: np.argpartition(-native.get_scores(t), K)[:K], known, 1)
    directory = tmp / f"bm25-{n}"
    index.save(directory)
    size = sum(f.stat().st_size for f in directory.iterdir())
    res = {"build_s": build_s, **lat, "bm25s_native": {"queries": len(known), **native_lat}}
    res |= {"postings": int(index.indices.shape[0]), "vocab": len(index.vocab)}
    return directory, queries, res | {"serialized_bytes": size, "rss_delta_bytes": rss_delta}


TABLES = {  # title -> "column=path.in.result" cells; *_GiB columns are byte counts
    "dense index, one query at a time (ms)": "n=n kind=dense.index.kind build_s=dense.build_s "
    "p50=dense.p50_ms p99=dense.p99_ms cpu_p99=dense.cpu_p99_ms recall@10=dense.recall_at_10 "
    "file_GiB=dense.serialized_bytes dRSS_GiB=dense.rss_delta_bytes "
    "flat_p50=dense.flat.p50_ms flat_p99=dense.flat.p99_ms",
    "serving process: load_index + searches, then + BM25 (mmap)": "n=n p50=serving.p50_ms "
    "p99=serving.p99_ms recall@10=serving.recall_at_10 peak_GiB=serving.vectors.peak "
    "peak/raw=serving.peak_over_raw +bm25_GiB=serving.with_bm25_mmap.peak "
    "anon_GiB=serving.with_bm25_mmap.anon bm25_p50=serving.bm25_mmap.p50_ms "
    "bm25_p99=serving.bm25_mmap.p99_ms",
    "BM25 (bm25s_*: bm25s's own numpy get_scores + top-k)": "n=n build_s=bm25.build_s "
    "p50=bm25.p50_ms p99=bm25.p99_ms cpu_p99=bm25.cpu_p99_ms bm25s_p50=bm25.bm25s_native.p50_ms "
    "bm25s_p99=bm25.bm25s_native.p99_ms postings=bm25.postings "
    "file_GiB=bm25.serialized_bytes dRSS_GiB=bm25.rss_delta_bytes",
}


def table(results: list[dict[str, Any]]) -> str:
    """The TABLES as aligned text; a missing value prints as '-'."""
    lines = []
    for title, spec in TABLES.items():
        cols = [cell.split("=") for cell in spec.split()]
        lines += [title, " ".join(f"{name:>10}" for name, _ in cols)]
        for r in results:
            cells = []
            for name, path in cols:
                value: Any = r
                for key in path.split("."):
                    value = value.get(key, "-") if isinstance(value, dict) else "-"
                if name.endswith("GiB") and value != "-":
                    value /= 1 << 30
                cells.append(f"{value:>10.3f}" if isinstance(value, float) else f"{value:>10}")
            lines.append(" ".join(cells))
        lines.append("")
    return "\n".join(lines)


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000", help="comma-separated corpus sizes")
    for flag, default, note in [
        ("--queries", 1000, "single queries per size"),
        ("--rounds", 3, "latency rounds; the median of per-round percentiles is reported"),
        ("--flat-queries", 200, "queries for the exact index's latency"),
        ("--exact-limit", vec.EXACT_LIMIT, "as in build_vector_index"),
        ("--dim", 384, "vector dimension"),
        ("--centres", 2000, "gaussian clusters"),
        ("--vocab", 30_000, "Zipf vocabulary size"),
        ("--seed", 0, "seed for the cluster centres"),
    ]:
        ap.add_argument(flag, type=int, default=default, help=note)
    ap.add_argument("--noise", type=float, default=1.5, help="max noise norm per point")
    ap.add_argument("--skip-dense", action="store_true")
    ap.add_argument("--skip-bm25", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "bench-results" / "scale.json")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmpdir:
        for n in sizes:
            row: dict[str, Any] = {"n": n}
            if not args.skip_dense:
                path, xq, truth, row["dense"] = bench_dense(n, args, Path(tmpdir))
            lexical = None
            if not args.skip_bm25:
                *lexical, row["bm25"] = bench_lexical(n, args, Path(tmpdir))
            if not args.skip_dense:
                serve = serve_child(path, xq, args.rounds, lexical)
                serve["recall_at_10"] = recall(serve.pop("ids"), truth)
                serve["peak_over_raw"] = serve["vectors"]["peak"] / row["dense"]["raw_vector_bytes"]
                row["serving"] = serve
            results.append(row)
            print(f"done n={n}", file=sys.stderr, flush=True)
    versions = {"faiss": faiss.__version__, "numpy": np.__version__}
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), **versions}
    report = {"command": " ".join(["scripts/bench_scale.py", *(argv or sys.argv[1:])])}
    report |= {"machine": machine, "args": {k: str(v) for k, v in vars(args).items()}}
    report |= {"results": results, "bench_process_peak_rss_bytes": mem()["peak"]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=float), encoding="utf-8")
    print(table(results))
    print(f"bench process peak RSS {mem()['peak'] / (1 << 30):.2f} GiB; JSON: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
