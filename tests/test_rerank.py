"""Stage-2 selection with fake vectors: relevance first, cut-off, near-ties, near-copies."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from bot.documents import Chunk
from bot.engine.rerank import Evidence, Weights, select


def _index(vectors: list[list[float]]) -> SimpleNamespace:
    matrix = np.asarray(vectors, dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    return SimpleNamespace(passage_vectors=lambda ids: matrix[list(ids)])


def _evidence(chunk_id: int, path: str, score: float, text: str | None = None) -> Evidence:
    chunk = Chunk(path, "T", f"T › s{chunk_id}", text or f"text {chunk_id}")
    return Evidence(chunk_id, chunk, score, score)


def test_a_clearly_better_passage_is_never_replaced_for_diversity():
    index = _index([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    ranked = [_evidence(0, "a.md", 0.80), _evidence(1, "a.md", 0.74), _evidence(2, "b.md", 0.70)]
    chosen = select(index, ranked, 3, Weights())
    assert [e.chunk_id for e in chosen] == [0, 1, 2]


def test_a_near_tie_goes_to_a_file_not_yet_shown():
    index = _index([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    ranked = [_evidence(0, "a.md", 0.80), _evidence(1, "a.md", 0.745), _evidence(2, "b.md", 0.74)]
    chosen = select(index, ranked, 3, Weights())
    assert [e.chunk_id for e in chosen] == [0, 2, 1]
    no_diversity = select(index, ranked, 3, Weights().without("diversity"))
    assert [e.chunk_id for e in no_diversity] == [0, 1, 2]


def test_weak_passages_are_left_out_rather_than_filling_k():
    index = _index([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    ranked = [_evidence(0, "a.md", 0.81), _evidence(1, "b.md", 0.28), _evidence(2, "c.md", 0.18)]
    assert [e.chunk_id for e in select(index, ranked, 3, Weights())] == [0]
    assert len(select(index, ranked, 3, Weights().without("cutoff"))) == 3


def test_near_copies_and_identical_texts_show_once():
    index = _index([[1, 0, 0], [1, 0.01, 0], [0, 1, 0], [0, 0, 1]])
    ranked = [
        _evidence(0, "a.md", 0.80),
        _evidence(1, "b.md", 0.79),  # vector nearly identical to 0
        _evidence(2, "c.md", 0.78, text="text 0"),  # same text as 0
        _evidence(3, "d.md", 0.77),
    ]
    assert [e.chunk_id for e in select(index, ranked, 3, Weights())] == [0, 3]


def test_unknown_ablation_signal_is_an_error():
    import pytest

    with pytest.raises(ValueError, match="unknown ranking signal"):
        Weights().without("magic")


def _scored(weights: Weights) -> list[str]:
    """Two candidates equally near the question in meaning: a short reference page that
    BM25 loves (every question word, few others) and a section of the guide whose title
    names the task. Returns their paths, best first."""
    from bot.engine.question import Question
    from bot.engine.rerank import score_candidates
    from bot.engine.retriever import Candidate, Pool
    from bot.engine.terms import QueryTerms, folded_terms

    reference = Chunk("ref.md", "flags", "flags › Synopsis", "rotate signing key: --rotate-key")
    guide = Chunk(
        "guide.md",
        "Rotating the signing key",
        "Rotating the signing key › Before you start",
        "Plan a window first. Old tokens stay valid until they expire, so rotate the signing key "
        "before the old one is retired.",
    )
    unit_vectors = {0: np.ones((1, 2), np.float32) * 0.5, 1: np.ones((2, 2), np.float32) * 0.5}
    index = SimpleNamespace(
        chunks=[reference, guide], units=SimpleNamespace(of=lambda i: unit_vectors[i])
    )
    pool = Pool(
        [Candidate(0, 0.6, 12.0, 0.03), Candidate(1, 0.6, 6.0, 0.03)],
        np.ones((1, 2), np.float32),
        np.ones(1, np.float32),
        0.6,
    )
    words = folded_terms("rotate the signing key")
    question = Question("rotate key?", "rotate key?", terms=QueryTerms(dict.fromkeys(words, 1.0)))
    return [e.chunk.path for e in score_candidates(index, pool, question, weights)]


def test_a_guide_whose_title_names_the_task_beats_a_keyword_dense_page():
    assert _scored(Weights()) == ["guide.md", "ref.md"]
    assert _scored(Weights(bm25=0.05, title=0.0)) == ["ref.md", "guide.md"]  # the old weights
