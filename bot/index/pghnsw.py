"""The pgvector HNSW index of a build (shared by bot/index/pgstore.py and
scripts/bench_pg.py, so the bench measures what ingest does), and a binary COPY of bare
vectors for the bench.

pgvector builds the graph in maintenance_work_mem; once the graph outgrows it, pgvector says
"hnsw graph no longer fits into maintenance_work_mem" and finishes on disk, many times
slower. So the build sizes the setting to the graph (never below what the server is already
configured with). `binary_copy` sends vectors in COPY's binary format, packed by numpy: the
text form costs ~0.5 ms of Python per 384-d row (8 minutes at 1M rows). The backend's own
rows still go as text (not changed yet).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

import numpy as np

# FAISS's local settings (bot/index/vectors.py). pgvector's defaults (16, 64) gave recall@10
# 0.80 at 1M clustered 384-d vectors, 0.93 at best with any ef_search; 32/80 gave 0.968 at
# ef_search 400 (pgconn.EF_SEARCH), for a 1.6x longer build (scripts/bench_pg.py vectors).
HNSW_M, HNSW_EF_CONSTRUCTION = 32, 80
MIN_BUILD_MEMORY = 1 << 30  # what the index build always had
MAX_BUILD_MEMORY = 8 << 30  # beyond this, set maintenance_work_mem on the server yourself
# pgvector 0.6 keeps, per element: the vector (4 bytes a dimension + header), 2·m level-0
# neighbour candidates of 16 bytes, and its own bookkeeping; 25% on top for upper levels
# and the allocator.
_ELEMENT_OVERHEAD = 256
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_COPY_TRAILER = struct.pack(">h", -1)


def build_memory_bytes(rows: int, dim: int, m: int = HNSW_M) -> int:
    """maintenance_work_mem that holds the whole HNSW graph of `rows` `dim`-d vectors."""
    element = 4 * dim + 8 + 2 * m * 16 + _ELEMENT_OVERHEAD
    return min(MAX_BUILD_MEMORY, max(MIN_BUILD_MEMORY, int(rows * element * 1.25)))


def create_hnsw_index(
    cur: Any, table: str, rows: int, dim: int, m: int = HNSW_M, ef_construction: int = 0
) -> None:
    """CREATE INDEX … USING hnsw on `table`.embedding, with room for the graph in memory.

    SET LOCAL: inside the caller's transaction only. The setting is raised, never lowered."""
    want = build_memory_bytes(rows, dim, m) // 1024
    have = cur.execute(
        "SELECT setting::bigint FROM pg_settings WHERE name = 'maintenance_work_mem'"
    ).fetchone()
    if not have or int(have[0]) < want:
        cur.execute(f"SET LOCAL maintenance_work_mem = '{want}kB'")
    options = f"m = {int(m)}, ef_construction = {int(ef_construction or HNSW_EF_CONSTRUCTION)}"
    cur.execute(f"CREATE INDEX ON {table} USING hnsw (embedding vector_ip_ops) WITH ({options})")


def binary_copy(vectors: np.ndarray) -> Iterator[bytes]:
    """COPY … (FORMAT BINARY) data for (id int, embedding vector(d)) rows, in blocks:
    row i of `vectors` gets id i."""
    matrix = np.asarray(vectors, dtype=np.float32)
    dim = matrix.shape[1]
    record = np.dtype(
        [
            ("fields", ">i2"),
            ("id_len", ">i4"),
            ("id", ">i4"),
            ("vec_len", ">i4"),
            ("dim", ">i2"),
            ("unused", ">i2"),
            ("values", ">f4", (dim,)),
        ]
    )
    yield _COPY_HEADER
    for start in range(0, len(matrix), 10_000):
        block = matrix[start : start + 10_000]
        out = np.zeros(len(block), dtype=record)
        out["fields"], out["id_len"], out["vec_len"], out["dim"] = 2, 4, 4 + 4 * dim, dim
        out["id"] = np.arange(start, start + len(block))
        out["values"] = block
        yield out.tobytes()
    yield _COPY_TRAILER
