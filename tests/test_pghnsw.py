"""The shared index's bulk load and HNSW build (bot/index/pghnsw.py) on a real PostgreSQL +
pgvector: vectors sent in COPY's binary format read back exactly, and the index build gets
enough maintenance_work_mem for its graph without lowering what the server already has."""

from __future__ import annotations

import numpy as np
import psycopg

from bot.index.pghnsw import (
    MAX_BUILD_MEMORY,
    MIN_BUILD_MEMORY,
    binary_copy,
    build_memory_bytes,
    create_hnsw_index,
)


def _memory_kb(cur) -> int:
    row = cur.execute(
        "SELECT setting::bigint FROM pg_settings WHERE name = 'maintenance_work_mem'"
    ).fetchone()
    return int(row[0])


def test_binary_copy_loads_every_vector_exactly(index_url):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((12_345, 3)).astype(np.float32)  # more than one 10,000-row block
    x[7] = [0.0, -0.0, 1e-38]
    with psycopg.connect(index_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute("CREATE TABLE v (id int, embedding vector(3))")
        with conn.cursor() as cur, cur.copy("COPY v FROM STDIN (FORMAT BINARY)") as copy:
            for block in binary_copy(x):
                copy.write(block)
        rows = conn.execute("SELECT id, embedding::text FROM v ORDER BY id").fetchall()
    assert [r[0] for r in rows] == list(range(len(x)))
    back = np.array([np.array(text.strip("[]").split(","), np.float32) for _, text in rows])
    assert np.array_equal(back, x)


def test_the_graph_of_a_million_384_d_vectors_gets_its_own_memory():
    need = build_memory_bytes(1_000_000, 384)
    assert 2 << 30 < need < MAX_BUILD_MEMORY  # 1M × (1.5 KB vector + links) does not fit 1 GB
    assert build_memory_bytes(3_000, 384) == MIN_BUILD_MEMORY
    assert build_memory_bytes(100_000_000, 384) == MAX_BUILD_MEMORY


def _table_of(conn: psycopg.Connection, x: np.ndarray) -> None:
    """Table v (id, embedding) holding the rows of `x`, loaded by binary COPY."""
    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    conn.execute(f"CREATE TABLE v (id int, embedding vector({x.shape[1]}))")
    with conn.cursor() as cur, cur.copy("COPY v FROM STDIN (FORMAT BINARY)") as copy:
        for block in binary_copy(x):
            copy.write(block)


def test_the_index_build_raises_maintenance_work_mem_for_its_transaction_only(index_url):
    with psycopg.connect(index_url, autocommit=True) as conn:
        _table_of(conn, np.random.default_rng(4).standard_normal((500, 8)).astype(np.float32))
        with conn.cursor() as cur:
            before = _memory_kb(cur)
            with conn.transaction():
                create_hnsw_index(cur, "v", 2_000_000, 8)
                during = _memory_kb(cur)
            after = _memory_kb(cur)
        index = conn.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'v'").fetchone()
    assert during == build_memory_bytes(2_000_000, 8) // 1024 > before
    assert after == before
    assert index is not None and "hnsw" in index[0]


def test_a_server_configured_with_more_memory_keeps_it(index_url):
    with psycopg.connect(index_url, autocommit=True) as conn:
        _table_of(conn, np.random.default_rng(5).standard_normal((50, 4)).astype(np.float32))
        conn.execute("SET maintenance_work_mem = '3GB'")
        with conn.cursor() as cur, conn.transaction():
            create_hnsw_index(cur, "v", 50, 4)
            assert _memory_kb(cur) == 3 * 1024 * 1024
