"""Should we answer at all? A decision from several signals, not one cosine.

- `unit`: the best single statement's cosine: a knowledge base that answers has one
  sentence close to the question, not only a passage near its topic;
- `passage`: the best passage cosine anywhere in the index;
- `own_unit` (follow-ups): how near the follow-up read alone comes to a found sentence:
  "what is the meaning of life?" after a DevOps question shares a word with some passage,
  but no sentence found is about it;
- `vocabulary`: the IDF-weighted share of the question's words the docs use at all; it
  scales the rest, so "how many players are on a rugby team?" scores low beside an
  engineering playbook full of teams;
- `coverage`: the IDF-weighted share of the question's own content words found in one of
  the top passages: "pasta recipe" is not covered by a DevOps article, however close the
  vectors of two questions in the same thread may be.
The weights and threshold are calibrated on the dev sets by `scripts/calibrate.py`.

A follow-up is judged on its own words: the thread only helps when the question refers
back to it ("and devops?", "who do they team up with?"), and even then the question's own
content words must be covered by what is found.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bot.engine.lexicon import lexicon
from bot.engine.names import zipf
from bot.engine.question import Question
from bot.engine.rerank import Evidence
from bot.engine.terms import QueryTerms

UNIT_WEIGHT = 0.6
PASSAGE_WEIGHT = 0.4
COVERAGE_WEIGHT = 0.0  # calibrated: coverage helped no dev decision (it vetoes follow-ups)
VOCABULARY_WEIGHT = 0.5  # how far words the docs never use pull confidence down
NAMED_VOCABULARY = 0.5  # a question naming what no doc mentions, mostly in words they don't use
TOP_PASSAGES = 3
FOLLOW_UP_COVERAGE = 0.5  # share of a follow-up's own words the found passages must hold
FOLLOW_UP_OWN_UNIT = 0.12  # and a found sentence must be at least this near its own words


@dataclass(frozen=True)
class Verdict:
    confidence: float
    unit: float
    passage: float
    coverage: float
    own_coverage: float
    own_unit: float = 1.0  # best cosine of the follow-up alone with a found sentence
    vocabulary: float = 1.0  # share of the question's words the docs use at all

    def signals(self) -> dict[str, float]:
        return {
            "confidence": self.confidence,
            "unit": round(self.unit, 4),
            "passage": round(self.passage, 4),
            "coverage": round(self.coverage, 4),
            "own_coverage": round(self.own_coverage, 4),
            "own_unit": round(self.own_unit, 4),
            "vocabulary": round(self.vocabulary, 4),
        }

    def answerable(
        self, threshold: float, follows_thread: bool, has_own_words: bool, names: bool = False
    ) -> bool:
        """`names`: the question names something no doc mentions that is no English word;
        declined when most of its words are not the docs' words either (else the closest
        material is shown under a line saying so)."""
        if self.confidence < threshold or (names and self.vocabulary < NAMED_VOCABULARY):
            return False
        if not (follows_thread and has_own_words):
            return True
        return self.own_coverage >= FOLLOW_UP_COVERAGE and self.own_unit >= FOLLOW_UP_OWN_UNIT


def judge(
    ranked: Sequence[Evidence],
    best_passage: float,
    question: Question,
    known: Callable[[str], bool],  # is this folded word one the index uses?
    unit_vectors: Callable[[int], np.ndarray] | None = None,
    own_vector: np.ndarray | None = None,
) -> Verdict:
    """Signals from the top passages. A follow-up's own words are checked against them,
    but only its topic words: words the index uses (`known`; a word no document has
    cannot be found anywhere, and a *name* no document has is the names check's
    business) that are not so common in everyday English that they say nothing alone
    ("ok", "cool", "would", "side"). `own_vector` (for a follow-up) is the
    question read alone, compared with the top passages' sentences (`unit_vectors`)."""
    terms = question.terms
    chatter = lexicon().names.chatter_zipf
    own = QueryTerms(
        {t: w for t, w in question.own.weights.items() if known(t) and zipf(t) < chatter}
    )
    top = list(ranked[:TOP_PASSAGES])
    unit = max((e.best_unit_cosine for e in top), default=0.0)
    coverage = max((terms.coverage(e.terms) for e in top), default=0.0) if terms else 0.0
    own_coverage = max((own.coverage(e.terms) for e in top), default=0.0) if own else 1.0
    nearness = UNIT_WEIGHT * unit + PASSAGE_WEIGHT * best_passage + COVERAGE_WEIGHT * coverage
    vocabulary = _vocabulary(question.own, known) if question.own else 1.0
    confidence = nearness * (1.0 - VOCABULARY_WEIGHT + VOCABULARY_WEIGHT * vocabulary)
    own_unit = 1.0
    if own_vector is not None and unit_vectors is not None:
        cosines = [unit_vectors(e.chunk_id) @ own_vector.ravel() for e in top]
        own_unit = max((float(c.max()) for c in cosines if c.size), default=0.0)
    return Verdict(
        round(confidence, 4), unit, best_passage, coverage, own_coverage, own_unit, vocabulary
    )


def _vocabulary(own: QueryTerms, known: Callable[[str], bool]) -> float:
    """The IDF-weighted share of the question's words that the docs use at all. A
    question the docs could answer is asked in their words ("rollback", "scrape"); one
    about rugby or a tool they never name is not, however near its vectors come."""
    return sum(w for t, w in own.weights.items() if known(t)) / own.total
