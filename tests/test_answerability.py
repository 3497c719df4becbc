"""The answer-or-decline decision, on hand-made evidence."""

from __future__ import annotations

import numpy as np

from bot.documents import Chunk
from bot.engine.answerability import judge
from bot.engine.rerank import Evidence
from bot.engine.terms import QueryTerms


def _evidence(chunk_id: int, cosine: float, words: set[str]) -> Evidence:
    chunk = Chunk("a.md", "T", "T › s", "text")
    return Evidence(chunk_id, chunk, cosine, cosine, terms=frozenset(words))


SENTENCES = {0: np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=np.float32)}


def test_a_follow_up_whose_own_words_no_found_sentence_is_about_is_declined():
    """A shared word ("life" in "real-life data") is not enough: the follow-up read alone
    must come near one of the sentences found."""
    ranked = [_evidence(0, 0.6, {"life", "devop"})]
    own = QueryTerms({"life": 3.0})
    unrelated = np.array([0.0, 0.0, 1.0], dtype=np.float32)
    verdict = judge(ranked, 0.6, own, own, SENTENCES.__getitem__, unrelated)
    assert verdict.own_coverage == 1.0 and verdict.own_unit == 0.0
    assert not verdict.answerable(0.34, follows_thread=True, has_own_words=True)
    assert verdict.answerable(0.34, follows_thread=False, has_own_words=True)

    related = np.array([0.6, 0.8, 0.0], dtype=np.float32)
    verdict = judge(ranked, 0.6, own, own, SENTENCES.__getitem__, related)
    assert abs(verdict.own_unit - 0.8) < 1e-6 and verdict.signals()["own_unit"] == 0.8
    assert verdict.answerable(0.34, follows_thread=True, has_own_words=True)


def test_a_follow_up_whose_words_no_found_passage_holds_is_declined():
    ranked = [_evidence(0, 0.7, {"devop"})]
    own = QueryTerms({"pasta": 3.0})
    verdict = judge(ranked, 0.7, own, own)
    assert verdict.confidence >= 0.34 and verdict.own_coverage == 0.0
    assert not verdict.answerable(0.34, follows_thread=True, has_own_words=True)
