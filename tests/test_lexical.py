"""BM25 index: tokenisation, ranking, unknown words, persistence and corrupt files."""

from __future__ import annotations

import json
from pathlib import Path

import bm25s
import numpy as np
import pytest

from bot.index import lexical
from bot.index.lexical import LexicalIndex, LexicalIndexError, tokenize

DOCS = [
    "Use dvc exp run to launch an experiment and dvc exp show to compare them.",
    "Deploy the chart to k8s with helm upgrade --install and kubectl rollout status.",
    "Our CI/CD pipeline runs pytest in GitHub Actions before docker-compose up -d.",
    "Set max_retries in the config and restart the nginx:1.25 container.",
    "The model registry stores versions of the model for the serving team.",
    "",
    "the and of to",  # stopwords only
]


@pytest.fixture(scope="module")
def index() -> LexicalIndex:
    return LexicalIndex.build(DOCS)


def test_tokenize_keeps_ops_terms() -> None:
    toks = tokenize("How do I run DVC exp on K8s with CI/CD and docker-compose up?")
    assert {"dvc", "exp", "k8s", "ci", "cd", "ci/cd", "docker", "compose", "up"} <= set(toks)
    assert {"how", "do", "i", "on", "with", "and"}.isdisjoint(toks)
    assert tokenize("max_retries nginx:1.25") == [
        "max", "retries", "max_retries", "nginx", "1", "25", "nginx:1.25",
    ]  # fmt: skip
    assert tokenize("") == [] and tokenize("the of and") == []


def test_rare_term_ranks_its_doc_first(index: LexicalIndex) -> None:
    assert index.search("helm", 3)[0][0] == 1
    assert index.search("how do I compare dvc experiments", 3)[0][0] == 0
    assert index.search("nginx restart", 5)[0][0] == 3
    assert index.search("ci/cd", 5)[0][0] == 2 and index.search("CI", 5)[0][0] == 2


def test_results_are_sorted_bounded_and_positive(index: LexicalIndex) -> None:
    hits = index.search("model dvc k8s pipeline nginx", 3)
    assert len(hits) == 3
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)
    assert len(index.search("model dvc k8s pipeline nginx", 50)) == 5  # only matching docs
    assert index.search("dvc", 0) == []


def test_unknown_empty_and_stopword_queries(index: LexicalIndex) -> None:
    assert index.search("zzyzx quux", 5) == []
    assert index.search("", 5) == []
    assert index.search("the of and is", 5) == []
    assert index.search("???  --- !!!", 5) == []
    assert index.search("zzyzx helm", 5)[0][0] == 1  # unknown words don't break known ones


def test_repeated_query_word_counts_once(index: LexicalIndex) -> None:
    assert index.search("helm helm helm", 5) == index.search("helm", 5)


@pytest.fixture(scope="module")
def zipf() -> tuple[LexicalIndex, bm25s.BM25, list[str]]:
    """A Zipf corpus (common and rare words) plus bm25s's own scorer as the reference."""
    rng = np.random.default_rng(0)
    p = 1.0 / np.arange(1, 301)
    draw = lambda n: " ".join(f"w{i}" for i in rng.choice(300, n, p=p / p.sum()))  # noqa: E731
    texts = [draw(int(rng.integers(20, 40))) for _ in range(2_000)]
    queries = [draw(int(rng.integers(1, 6))) for _ in range(150)] + ["w299 nosuchword w0"]
    ref = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
    ref.index([tokenize(t) for t in texts], show_progress=False)
    return LexicalIndex.build(texts), ref, queries


@pytest.mark.parametrize(
    ("cand_ratio", "min_cand", "lookup_cost", "unique_ratio"),
    [
        (0.02, 4096, 0.5, 1 / 32),  # production settings
        (0.0, 1, 1e18, 1.0),  # candidates from the rarest term, others looked up
        (0.05, 1, 1e18, 0.0),  # candidates from a few rare terms, merged densely
        (0.05, 1, 1e18, 1.0),  # same, merged by sorting
        (0.0, 1, 0.0, 0.0),  # always dense over all terms, top-k threshold cut
        (1.0, 10**9, 0.0, 1.0),  # all terms generate candidates, merged by sorting
    ],
)
def test_pruned_search_matches_brute_force(
    zipf: tuple[LexicalIndex, bm25s.BM25, list[str]],
    monkeypatch: pytest.MonkeyPatch,
    cand_ratio: float,
    min_cand: int,
    lookup_cost: float,
    unique_ratio: float,
) -> None:
    monkeypatch.setattr(lexical, "_CANDIDATE_RATIO", cand_ratio)
    monkeypatch.setattr(lexical, "_MIN_CANDIDATES", min_cand)
    monkeypatch.setattr(lexical, "_LOOKUP_COST", lookup_cost)
    monkeypatch.setattr(lexical, "_UNIQUE_RATIO", unique_ratio)
    index, ref, queries = zipf
    for query in queries:
        for k in (1, 10):
            got = index.search(query, k)
            want = ref.get_scores(list(dict.fromkeys(tokenize(query))))  # each term once
            best = np.sort(want[want > 0])[::-1][:k]
            ids, scores = [d for d, _ in got], [s for _, s in got]
            np.testing.assert_allclose(scores, best, rtol=1e-5, err_msg=query)
            np.testing.assert_allclose(scores, want[ids], rtol=1e-5, err_msg=query)


def test_postings_sorted_by_doc(zipf: tuple[LexicalIndex, bm25s.BM25, list[str]]) -> None:
    index = zipf[0]  # search binary-searches postings, so this must hold
    for t in range(len(index.vocab)):
        assert np.all(np.diff(index.indices[index.indptr[t] : index.indptr[t + 1]]) > 0)


def test_empty_corpus(tmp_path: Path) -> None:
    idx = LexicalIndex.build([])
    assert len(idx) == 0 and idx.search("dvc", 5) == []
    idx.save(tmp_path)
    assert LexicalIndex.load(tmp_path).search("dvc", 5) == []


@pytest.mark.parametrize("mmap", [False, True])
def test_save_load_round_trip(index: LexicalIndex, tmp_path: Path, mmap: bool) -> None:
    index.save(tmp_path / "bm25")
    loaded = LexicalIndex.load(tmp_path / "bm25", mmap=mmap)
    assert len(loaded) == len(DOCS)
    for q in ["helm", "dvc exp", "model registry", "ci/cd docker", "unknownword"]:
        assert loaded.search(q, 5) == index.search(q, 5)


def test_missing_dir_raises(tmp_path: Path) -> None:
    with pytest.raises(LexicalIndexError, match="no lexical index"):
        LexicalIndex.load(tmp_path / "absent")


@pytest.mark.parametrize(
    ("victim", "content"),
    [
        ("data.csc.index.npy", b"garbage"),
        ("indices.csc.index.npy", None),  # deleted
        ("vocab.index.json", b"{not json"),
        ("lexical.json", b'{"format_version": 99}'),
    ],
)
def test_corrupt_dir_raises(
    index: LexicalIndex, tmp_path: Path, victim: str, content: bytes | None
) -> None:
    index.save(tmp_path)
    if content is None:
        (tmp_path / victim).unlink()
    else:
        (tmp_path / victim).write_bytes(content)
    with pytest.raises(LexicalIndexError, match=str(tmp_path)):
        LexicalIndex.load(tmp_path)


def test_inconsistent_arrays_raise(index: LexicalIndex, tmp_path: Path) -> None:
    index.save(tmp_path)
    np.save(tmp_path / "indptr.csc.index.npy", index.indptr[:-3])  # truncated term table
    with pytest.raises(LexicalIndexError, match="indptr"):
        LexicalIndex.load(tmp_path)
    index.save(tmp_path)
    vocab = json.loads((tmp_path / "vocab.index.json").read_text())
    vocab["helm"] = 10**6
    (tmp_path / "vocab.index.json").write_text(json.dumps(vocab))
    with pytest.raises(LexicalIndexError, match="vocabulary"):
        LexicalIndex.load(tmp_path)
    index.save(tmp_path)
    bad = np.array(index.indices)
    bad[0] = len(DOCS) + 5  # a posting pointing past the last chunk
    np.save(tmp_path / "indices.csc.index.npy", bad)
    with pytest.raises(LexicalIndexError, match="out of range"):
        LexicalIndex.load(tmp_path)
