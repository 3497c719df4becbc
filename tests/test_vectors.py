"""Dense index: exact vs HNSW switch, recall, padding, persistence and corrupt files."""

from __future__ import annotations

import gc
from pathlib import Path

import faiss
import numpy as np
import pytest

from bot.index.vectors import (
    IndexFileError,
    build_vector_index,
    describe_index,
    load_index,
    save_index,
    search,
)

DIM = 384


def clustered(n: int, seed: int, centres: int = 200, noise: float = 1.5) -> np.ndarray:
    """Normalised points around fixed centres (same centres for every seed)."""
    c = np.random.default_rng(0).standard_normal((centres, DIM), dtype=np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    x = c[rng.integers(0, centres, n)]
    x += rng.standard_normal((n, DIM), dtype=np.float32) * (noise / np.sqrt(DIM))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return clustered(10_000, seed=1), clustered(200, seed=2)


@pytest.fixture(scope="module")
def hnsw(data: tuple[np.ndarray, np.ndarray]) -> faiss.Index:
    return build_vector_index(data[0], exact_limit=2_000)


def exact_ids(xb: np.ndarray, xq: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(xq @ xb.T), axis=1, kind="stable")[:, :k]


def test_below_limit_is_exact(data: tuple[np.ndarray, np.ndarray]) -> None:
    xb, xq = data[0][:1_999], data[1]
    index = build_vector_index(xb, exact_limit=2_000)
    assert describe_index(index) == {"kind": "flat", "dim": DIM, "ntotal": 1_999, "metric": "ip"}
    scores, ids = search(index, xq, 10)
    np.testing.assert_array_equal(ids, exact_ids(xb, xq, 10))
    np.testing.assert_allclose(scores[:, 0], (xq @ xb[ids[:, 0]].T).diagonal(), rtol=1e-5)


def test_above_limit_is_hnsw_with_high_recall(
    data: tuple[np.ndarray, np.ndarray], hnsw: faiss.Index
) -> None:
    xb, xq = data
    desc = describe_index(hnsw)
    assert desc["kind"] == "hnsw" and desc["ntotal"] == len(xb) and desc["metric"] == "ip"
    assert desc["M"] == 32 and desc["efSearch"] >= 64
    _, ids = search(hnsw, xq, 10)
    truth = exact_ids(xb, xq, 10)
    hits = sum(len(set(a) & set(b)) for a, b in zip(ids, truth, strict=True))
    assert hits / truth.size >= 0.95


def test_scores_are_sorted_cosines(data: tuple[np.ndarray, np.ndarray], hnsw: faiss.Index) -> None:
    xb, xq = data
    scores, ids = search(hnsw, xq[0], 5)  # 1-D query is one row
    assert scores.shape == ids.shape == (1, 5)
    assert np.all(np.diff(scores[0]) <= 1e-6)
    np.testing.assert_allclose(scores[0], xb[ids[0]] @ xq[0], rtol=1e-4)


def test_k_larger_than_ntotal_pads_with_minus_one(data: tuple[np.ndarray, np.ndarray]) -> None:
    xb, xq = data
    scores, ids = search(build_vector_index(xb[:3]), xq[:2], 5)
    assert ids.shape == (2, 5)
    assert np.all(ids[:, 3:] == -1) and np.all(np.isneginf(scores[:, 3:]))
    assert sorted(ids[0, :3]) == [0, 1, 2]


def test_empty_index_and_bad_input(data: tuple[np.ndarray, np.ndarray]) -> None:
    index = build_vector_index(np.zeros((0, DIM), dtype=np.float32))
    assert describe_index(index)["ntotal"] == 0
    scores, ids = search(index, data[1][:2], 4)
    assert np.all(ids == -1) and np.all(np.isneginf(scores))
    assert search(index, data[1][:2], 0)[1].shape == (2, 0)
    with pytest.raises(ValueError):
        search(index, np.zeros((1, 8), dtype=np.float32), 3)
    with pytest.raises(ValueError):
        build_vector_index(np.zeros(DIM, dtype=np.float32))


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_save_load_round_trip(
    kind: str, data: tuple[np.ndarray, np.ndarray], hnsw: faiss.Index, tmp_path: Path
) -> None:
    xq = data[1]
    index = hnsw if kind == "hnsw" else build_vector_index(data[0][:500])
    path = tmp_path / "sub" / "vectors.faiss"
    save_index(index, path)
    loaded = load_index(path)
    gc.collect()  # the loaded object must own its C++ index
    assert describe_index(loaded) == describe_index(index)
    for got, want in zip(search(loaded, xq, 10), search(index, xq, 10), strict=True):
        np.testing.assert_array_equal(got, want)


def test_load_reapplies_search_params(hnsw: faiss.Index, tmp_path: Path) -> None:
    path = tmp_path / "v.faiss"
    save_index(hnsw, path)
    params = describe_index(hnsw) | {"efSearch": 200}
    assert describe_index(load_index(path, params))["efSearch"] == 200
    assert describe_index(load_index(path))["efSearch"] == describe_index(hnsw)["efSearch"]


@pytest.mark.parametrize("damage", ["truncated", "garbage", "bitflip", "empty", "plain_faiss"])
def test_damaged_file_raises(damage: str, hnsw: faiss.Index, tmp_path: Path) -> None:
    good = tmp_path / "good.faiss"
    save_index(hnsw, good)
    blob = good.read_bytes()
    bad = tmp_path / "bad.faiss"
    if damage == "truncated":
        bad.write_bytes(blob[: len(blob) // 2])
    elif damage == "garbage":
        bad.write_bytes(np.random.default_rng(0).bytes(len(blob)))
    elif damage == "bitflip":
        flipped = bytearray(blob)
        flipped[len(blob) // 3] ^= 0x40
        bad.write_bytes(bytes(flipped))
    elif damage == "empty":
        bad.write_bytes(b"")
    else:
        faiss.write_index(hnsw, str(bad))  # no trailer: not ours, can't be checked
    with pytest.raises(IndexFileError, match="bad.faiss"):
        load_index(bad)


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(IndexFileError, match="cannot open"):
        load_index(tmp_path / "nope.faiss")
