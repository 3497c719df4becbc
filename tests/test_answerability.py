"""The answer-or-decline decision, on hand-made evidence."""

from __future__ import annotations

import numpy as np

from bot.documents import Chunk
from bot.engine.answerability import judge
from bot.engine.question import Question
from bot.engine.rerank import Evidence
from bot.engine.terms import QueryTerms


def _question(own: QueryTerms) -> Question:
    return Question(asked="q", text="q", own=own, terms=own)


def _known(term: str) -> bool:
    return True


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
    verdict = judge(ranked, 0.6, _question(own), _known, SENTENCES.__getitem__, unrelated)
    assert verdict.own_coverage == 1.0 and verdict.own_unit == 0.0
    assert not verdict.answerable(0.34, follows_thread=True, has_own_words=True)
    assert verdict.answerable(0.34, follows_thread=False, has_own_words=True)

    related = np.array([0.6, 0.8, 0.0], dtype=np.float32)
    verdict = judge(ranked, 0.6, _question(own), _known, SENTENCES.__getitem__, related)
    assert abs(verdict.own_unit - 0.8) < 1e-6 and verdict.signals()["own_unit"] == 0.8
    assert verdict.answerable(0.34, follows_thread=True, has_own_words=True)


def test_a_follow_up_whose_words_no_found_passage_holds_is_declined():
    ranked = [_evidence(0, 0.7, {"devop"})]
    own = QueryTerms({"pasta": 3.0})
    verdict = judge(ranked, 0.7, _question(own), _known)
    assert verdict.confidence >= 0.34 and verdict.own_coverage == 0.0
    assert not verdict.answerable(0.34, follows_thread=True, has_own_words=True)


def test_words_the_docs_never_use_pull_confidence_down():
    """Near vectors are not enough: "rugby team" beside docs full of teams scores low."""
    ranked = [_evidence(0, 0.6, {"team"})]
    own = QueryTerms({"rugby": 3.0, "team": 1.0})
    docs = {"team", "deploy"}.__contains__
    asked_in_their_words = judge(ranked, 0.6, _question(QueryTerms({"team": 1.0})), docs)
    asked_in_others = judge(ranked, 0.6, _question(own), docs)
    assert asked_in_their_words.vocabulary == 1.0 and asked_in_others.vocabulary == 0.25
    assert asked_in_others.confidence < asked_in_their_words.confidence * 0.7


def test_chatter_in_a_follow_up_need_not_be_found():
    """ "ok", "cool", "stuff": everyday words say nothing about the thread's topic."""
    ranked = [_evidence(0, 0.7, {"histogram"})]
    own = QueryTerms({"ok": 5.0, "stuff": 5.0, "histogram": 2.0})
    verdict = judge(ranked, 0.7, _question(own), _known)
    assert verdict.own_coverage == 1.0
    assert verdict.answerable(0.34, follows_thread=True, has_own_words=True)
