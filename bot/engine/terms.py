"""Word-level evidence: which of a question's content words a text contains, IDF-weighted.

Dense vectors say "this is about the same thing"; these overlaps say "this mentions what was
asked". Words are compared after a light suffix folding ("teams" ~ "team", "deployed" ~
"deploy"), and weighted by how rare they are in the index, so "mlops" counts for more than
"software", and a word the index has never seen counts most of all.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.index.lexical import LexicalIndex, tokenize

# Words that say how something is asked ("explain", "vs", "in common"), not what about:
# they carry no topic, so they neither earn nor cost lexical coverage.
_ASKING = """
tell know explain mean means meaning describe thing things way ways good best use used using
work works need needs want like also actually really please help one ones kind sort part bit
lot much many something anything else eg ie vs versus differ differs different difference
differences diff compare compared comparison similar similarity similarities common contrast
"""
ASKING_WORDS = frozenset(_ASKING.split())
# Idioms whose words frame the question rather than name its topic: "what role does data
# play in X" asks about data in X; "what's the point of X", "why does X matter" ask about X.
_FRAMING_IDIOMS = (
    (re.compile(r"\b(?:role|part)s?\b.*\bplay(?:s|ed|ing)?\b"), {"role", "part", "play"}),
    (re.compile(r"\bwhat(?:'s| is) the (?:point|purpose) of\b"), {"point", "purpose"}),
    (re.compile(r"\b(?:why|how much)\b.*\bmatters?\b|\bmatters?\W*$"), {"matter", "matters"}),
)


def framing_words(question: str) -> set[str]:
    """Words that only frame this question, by the idioms above."""
    lowered = question.lower()
    return {w for pattern, words in _FRAMING_IDIOMS if pattern.search(lowered) for w in words}


IDF_FLOOR = 0.5  # a word in every passage still says what the question is about


def fold(word: str) -> str:
    """A crude stem: enough to match plural/tense variants, never merges distinct roots."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith("ss"):
                return word
            return word[: -len(suffix)] + repl
    return word


def folded_terms(text: str) -> set[str]:
    return {fold(t) for t in tokenize(text)}


@dataclass(frozen=True)
class QueryTerms:
    """A question's content words (folded) and their weights."""

    weights: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.weights.values())

    def coverage(self, present: Iterable[str] | set[str]) -> float:
        """Share of the question's word weight that `present` (folded terms) contains."""
        if not self.weights:
            return 0.0
        have = present if isinstance(present, set) else set(present)
        return sum(w for t, w in self.weights.items() if t in have) / self.total

    def __bool__(self) -> bool:
        return bool(self.weights)


class TermWeights:
    """IDF of folded words, from the BM25 index's document frequencies."""

    def __init__(self, lexical: LexicalIndex) -> None:
        self.num_docs = max(len(lexical), 1)
        df: dict[str, int] = {}
        indptr = lexical.indptr
        for term, tid in lexical.vocab.items():
            key = fold(term)
            df[key] = max(df.get(key, 0), int(indptr[tid + 1] - indptr[tid]))
        self._df = df
        self.unknown = self._idf(0)

    def _idf(self, df: int) -> float:
        return math.log(1.0 + (self.num_docs - df + 0.5) / (df + 0.5))

    def idf(self, folded: str) -> float:
        return IDF_FLOOR + self._idf(self._df.get(folded, 0))

    def known(self, word: str) -> bool:
        return fold(word.lower()) in self._df

    def query(self, question: str, *, framing: bool = False) -> QueryTerms:
        """The question's topic words; with `framing`, also the words saying how it asks
        ("differences", "in common"), which a section heading may echo."""
        idiom = framing_words(question)
        words = [
            t
            for t in tokenize(question)
            if (framing or (t not in ASKING_WORDS and t not in idiom)) and not t.isdigit()
        ]
        return QueryTerms({fold(t): self.idf(fold(t)) for t in words})


def topic_words(text: str) -> str:
    """The content words of a question, as written: what a later "they" refers to."""
    words = list(dict.fromkeys(t for t in tokenize(text) if t not in ASKING_WORDS))
    return " and ".join(words) if len(words) <= 2 else " ".join(words)
