"""Word-level evidence: which of a question's content words a text contains, IDF-weighted.

Dense vectors say "this is about the same thing"; these overlaps say "this mentions what was
asked". Words are compared after a light suffix folding ("teams" ~ "team", "deployed" ~
"deploy"), and weighted by how rare they are in the index, so "mlops" counts for more than
"software", and a word the index has never seen counts most of all.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from bot.engine.lexicon import lexicon
from bot.index.lexical import tokenize
from bot.index.store import WordStats

# Words that say how something is asked ("explain", "vs", "in common"), not what about:
# they carry no topic, so they neither earn nor cost lexical coverage.
ASKING_WORDS = lexicon().asking_words


def framing_words(question: str) -> set[str]:
    """Words that only frame this question, by the lexicon's idioms ("what role does X
    play" frames "role" and "play")."""
    return {w for idiom in lexicon().idioms if idiom.pattern.search(question) for w in idiom.frames}


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
    """IDF of folded words, from the word index's document frequencies."""

    def __init__(self, stats: WordStats) -> None:
        self.num_docs = max(stats.num_docs, 1)
        df: dict[str, int] = {}
        for term, count in stats.df.items():
            key = fold(term)
            df[key] = max(df.get(key, 0), count)
        self._df = df
        self._words = list(stats.df)
        self.unknown = self._idf(0)

    def _idf(self, df: int) -> float:
        return math.log(1.0 + (self.num_docs - df + 0.5) / (df + 0.5))

    def idf(self, folded: str) -> float:
        return IDF_FLOOR + self._idf(self._df.get(folded, 0))

    def known(self, word: str) -> bool:
        return fold(word.lower()) in self._df

    def has(self, folded: str) -> bool:
        """Is this folded term one the index uses?"""
        return folded in self._df

    def words(self) -> list[str]:
        """The index's own words as written (lowercased), for spelling checks."""
        return list(self._words)

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
