"""Dense vector index: exact below a size limit, HNSW above it.

Chunk embeddings are L2-normalised, so inner product is cosine similarity.
Row i of the input matrix gets id i (faiss's sequential ids), so no IndexIDMap.

Files written by ``save_index`` are a plain faiss index followed by a 24-byte
trailer (magic, payload length, CRC-32).  faiss ignores the trailer; we use it
to reject truncated or damaged files before faiss parses them, because a
corrupt length or neighbour id can crash faiss instead of raising.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from bot.errors import OpsbotError

__all__ = [
    "EXACT_LIMIT",
    "IndexFileError",
    "apply_search_params",
    "build_vector_index",
    "describe_index",
    "hnsw_params",
    "load_index",
    "save_index",
    "search",
]

EXACT_LIMIT = 20_000
_TRAILER = struct.Struct("<8sQI4x")  # magic, payload bytes, crc32 of payload
_MAGIC = b"OPSBOTIX"
_CHUNK = 1 << 24
_PARALLEL_MIN_QUERIES = 16  # smaller batches search single-threaded (see search)


class IndexFileError(OpsbotError):
    """Raised when a saved vector index is missing, truncated or corrupt."""


def hnsw_params(n: int) -> dict[str, int]:
    """HNSW settings for ``n`` vectors, chosen with scripts/bench_scale.py.

    1M clustered 384-d vectors, 2 cores, one query at a time: efSearch 128 gives
    recall@10 0.98 at p50 0.5 / p99 1.1 ms (64: 0.93, 96: 0.97).  M=32 adds
    256 B/vector of links (the serving process peaks at 1.22x the raw vectors);
    efConstruction 80 keeps the 1M build at ~4 min (~9 min on a busy box).
    IVF-Flat (nlist 4096, nprobe 16) also met the 1M targets on this data, but
    at 100k needed nprobe 64 of 1024 for 0.976 where HNSW had 0.999, and it
    must re-train k-means on every rebuild (2-12 min here), so HNSW it is.
    """
    return {"M": 32, "efConstruction": 80, "efSearch": 128 if n <= 2_000_000 else 192}


def build_vector_index(vectors: np.ndarray, exact_limit: int = EXACT_LIMIT) -> faiss.Index:
    """Index float32 (n, d) normalised rows by inner product; row i gets id i.

    n < exact_limit gives IndexFlatIP: exact, ~2-3 ms per query near the 20k limit on
    one core.  Otherwise IndexHNSWFlat: a graph over the full float vectors, so
    scores are exact cosines and only which neighbours get visited is approximate.
    The HNSW build uses all OpenMP threads and its graph varies run to run; a
    saved index reloads identical.  Vectors are not re-normalised here (a copy
    of 1.5 GB at 1M): callers pass normalised embeddings.
    """
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"expected a 2-D (n, d) array, got shape {x.shape}")
    n, d = x.shape
    if n < exact_limit:
        index: faiss.Index = faiss.IndexFlatIP(d)
    else:
        params = hnsw_params(n)
        index = faiss.IndexHNSWFlat(d, params["M"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params["efConstruction"]
        index.hnsw.efSearch = params["efSearch"]
    if n:
        index.add(x)
    return index


def describe_index(index: faiss.Index) -> dict[str, Any]:
    """Kind and parameters of ``index``, for the manifest and for ``load_index``."""
    index = faiss.downcast_index(index)  # non-owning view; caller keeps the owner alive
    base = {"dim": int(index.d), "ntotal": int(index.ntotal), "metric": _metric(index)}
    if isinstance(index, faiss.IndexHNSW):
        hnsw: Any = index.hnsw  # faiss (SWIG) declares no `nb_neighbors`
        m = int(hnsw.nb_neighbors(1))  # level >= 1 keeps M links, level 0 keeps 2*M
        params = {"M": m, "efConstruction": int(hnsw.efConstruction)}
        return {"kind": "hnsw", **base, **params, "efSearch": int(hnsw.efSearch)}
    if isinstance(index, faiss.IndexIVF):
        return {"kind": "ivf", **base, "nlist": int(index.nlist), "nprobe": int(index.nprobe)}
    if isinstance(index, faiss.IndexFlat):
        return {"kind": "flat", **base}
    raise ValueError(f"unsupported index type {type(index).__name__}")


def _metric(index: faiss.Index) -> str:
    return "ip" if index.metric_type == faiss.METRIC_INNER_PRODUCT else "l2"


def apply_search_params(index: faiss.Index, params: dict[str, Any] | None = None) -> faiss.Index:
    """Set efSearch / nprobe from ``params`` (a describe_index dict) or the defaults for n."""
    # downcast_index returns a non-owning view: keep and return the owning object.
    view = faiss.downcast_index(index)
    params = params or {}
    if isinstance(view, faiss.IndexHNSW):
        default = hnsw_params(int(view.ntotal))["efSearch"]
        view.hnsw.efSearch = int(params.get("efSearch", default))
    elif isinstance(view, faiss.IndexIVF) and "nprobe" in params:
        view.nprobe = int(params["nprobe"])
    return index


def search(
    index: faiss.Index, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, ids), each (nq, k), best first; a 1-D query is one row.

    ``allowed`` (a bool per vector) restricts the search to those ids inside faiss, so
    the k results are all allowed ones rather than what is left of an unfiltered top k.

    Missing results (k > ntotal, empty index, or a sparse HNSW/IVF neighbourhood)
    are padded with id -1 and score -inf: callers must drop ids < 0.
    """
    q = np.ascontiguousarray(queries, dtype=np.float32)
    if q.ndim == 1:
        q = q[None, :]
    if q.ndim != 2 or q.shape[1] != index.d:
        raise ValueError(f"queries must be (nq, {index.d}), got shape {np.shape(queries)}")
    nq, k = q.shape[0], max(int(k), 0)
    scores = np.full((nq, k), -np.inf, dtype=np.float32)
    ids = np.full((nq, k), -1, dtype=np.int64)
    kk = min(k, int(index.ntotal))  # don't make faiss allocate k slots it can't fill
    params = None
    if allowed is not None:
        params, kk = _only(index, allowed), min(kk, int(np.count_nonzero(allowed)))
    if nq and kk:
        found_scores, found_ids = _search_few_threads(index, q, kk, params)
        scores[:, :kk] = np.where(found_ids < 0, -np.inf, found_scores)
        ids[:, :kk] = found_ids
    return scores, ids


def _only(index: faiss.Index, allowed: np.ndarray) -> Any:
    """Search parameters that let faiss visit only the allowed ids."""
    ids = np.ascontiguousarray(np.flatnonzero(allowed), dtype=np.int64)
    selector = faiss.IDSelectorBatch(ids.size, faiss.swig_ptr(ids))
    view = faiss.downcast_index(index)
    lib: Any = faiss  # the stubs lack the selector-taking parameter classes
    if isinstance(view, faiss.IndexHNSW):
        params = lib.SearchParametersHNSW(sel=selector, efSearch=int(view.hnsw.efSearch))
    else:
        params = lib.SearchParameters(sel=selector)
    params.keep = (selector, ids)  # the selector reads `ids`; both must outlive the search
    return params


def _search_few_threads(
    index: faiss.Index, q: np.ndarray, k: int, params: Any = None
) -> tuple[np.ndarray, ...]:
    """Search; a handful of queries runs on one OpenMP thread.

    Measured on the shared 2-core box: for one query, a second thread only adds
    OpenMP barrier waits (flat: ~10x slower wall time when the other core is busy;
    HNSW: ~20% slower).  libgomp keeps the thread count per calling thread, so
    this does not affect searches running concurrently in other threads.
    """
    threads = faiss.omp_get_max_threads()
    if q.shape[0] >= _PARALLEL_MIN_QUERIES or threads == 1:
        return index.search(q, k, params=params)
    faiss.omp_set_num_threads(1)
    try:
        return index.search(q, k, params=params)
    finally:
        faiss.omp_set_num_threads(threads)


def save_index(index: faiss.Index, path: Path) -> None:
    """Write atomically (temp file + rename) with a CRC trailer for ``load_index``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        faiss.write_index(index, str(tmp))
        size, crc = _crc(tmp, tmp.stat().st_size)
        with open(tmp, "ab") as f:
            f.write(_TRAILER.pack(_MAGIC, size, crc))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_index(path: Path, params: dict[str, Any] | None = None) -> faiss.Index:
    """Read an index written by ``save_index`` and re-apply its search-time params.

    ``params`` is the describe_index dict recorded in the manifest; without it the
    defaults for the index size are used.  Any defect raises ``IndexFileError``.
    """
    path = Path(path)
    check_index_file(path)
    try:
        index = faiss.read_index(str(path))
    except (RuntimeError, MemoryError) as exc:
        raise IndexFileError(f"faiss cannot read vector index {path}: {exc}") from exc
    return apply_search_params(index, params)


def check_index_file(path: Path) -> None:
    """Raise IndexFileError unless the file is whole: trailer present, CRC matching."""
    try:
        total = path.stat().st_size
    except OSError as exc:
        raise IndexFileError(f"cannot open vector index {path}: {exc}") from exc
    if total < _TRAILER.size:
        raise IndexFileError(f"vector index {path} is truncated ({total} bytes)")
    with open(path, "rb") as f:
        f.seek(total - _TRAILER.size)
        magic, size, crc = _TRAILER.unpack(f.read(_TRAILER.size))
    if magic != _MAGIC or size != total - _TRAILER.size:
        raise IndexFileError(f"vector index {path} is truncated or not written by save_index")
    if _crc(path, size)[1] != crc:
        raise IndexFileError(f"vector index {path} is corrupt (checksum mismatch)")


def _crc(path: Path, size: int) -> tuple[int, int]:
    """CRC-32 of the first ``size`` bytes, streamed so RSS does not grow."""
    crc, left = 0, size
    with open(path, "rb") as f:
        while left:
            block = f.read(min(_CHUNK, left))
            if not block:
                raise IndexFileError(f"vector index {path} is shorter than its header says")
            crc, left = zlib.crc32(block, crc), left - len(block)
    return size, crc
