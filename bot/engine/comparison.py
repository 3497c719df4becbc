"""Comparison questions: "X vs Y", "how do X and Y differ", "what do X and Y share".

Such a question is answered by statements that set X against Y, not by one that merely
names both ("there are two players: X and Y"). Which statements count depends on what is
asked: how they differ ("while", "but", "unlike") or how they are alike ("both", "also",
"the same"); "X vs Y" takes either.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from bot.engine.lexicon import lexicon
from bot.engine.terms import ASKING_WORDS, QueryTerms, fold
from bot.index.lexical import WORD_RE as _WORD_RE
from bot.index.lexical import tokenize

Kind = Literal["alike", "differ", "any"]

_LEX = lexicon()
_ALIKE_ASKED = _LEX.pattern("comparison", "alike_asked")
_DIFFER_ASKED = _LEX.pattern("comparison", "differ_asked")
_NEUTRAL_ASKED = _LEX.pattern("comparison", "neutral_asked")
_ALIKE_SAID = _LEX.pattern("comparison", "alike_said")
_DIFFER_SAID = _LEX.pattern("comparison", "differ_said")
_SPLIT_WORDS = _LEX.pattern("comparison", "splitters")
_ALIKE_WORDS = frozenset(fold(w) for w in _LEX.words("comparison", "alike_heading"))
_DIFFER_WORDS = frozenset(fold(w) for w in _LEX.words("comparison", "differ_heading"))
# Words that ask for a comparison rather than name one of its sides.
_COMPARISON_WORDS = (
    _ALIKE_WORDS | _DIFFER_WORDS | {fold(w) for w in _LEX.words("comparison", "asking")}
)


def _concedes(text: str) -> bool:
    """'X and Y might seem similar, but…': a likeness granted to set up a difference."""
    grant = _LEX.pattern("comparison", "concession_grants").search(text)
    if grant is None:
        return False
    clause = re.split(r"[.;]", text[grant.end() :], maxsplit=1)[0]
    return bool(_LEX.pattern("comparison", "concession_turns").search(clause))


def is_comparative(question: str) -> bool:
    """'differences', 'vs', 'in common' questions often need two sections."""
    lowered = question.lower()
    asked = any(p.search(lowered) for p in (_ALIKE_ASKED, _DIFFER_ASKED, _NEUTRAL_ASKED))
    return asked and not lowered.startswith("or ")


def comparison_sides(question: str) -> list[set[str]]:
    """For "X vs Y" / "X and Y in common": the folded words naming each side.

    A side is the one or two content words next to the word that splits the question
    ("dev ops" also gives "devops"). Empty when the question names fewer than two sides.
    """
    lowered = question.lower()
    if not is_comparative(lowered):
        return []
    words = _Words(lowered)
    for match in _SPLIT_WORDS.finditer(lowered):
        left, right = words.before(match.start()), words.after(match.end())
        if left and right:
            return [_side(left, left[-1]), _side(right, right[0])]
    return []


class _Words:
    """The content words of a question, tokenized once: the two words before or after
    any position in constant time, so a question full of splitters ("a vs vs vs …")
    costs time linear in its length, not quadratic."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.tokens: list[str] = []  # content tokens of every word, in order
        self.first: list[int] = []  # index in `tokens` of each word's first token
        for m in _WORD_RE.finditer(text):
            self.starts.append(m.start())
            self.ends.append(m.end())
            self.first.append(len(self.tokens))
            self.tokens += _content(m.group())
        self.first.append(len(self.tokens))

    def before(self, cut: int) -> list[str]:
        """The last two content tokens of text[:cut] (as tokenizing that slice gives)."""
        i = bisect_right(self.ends, cut)  # words 0..i-1 end by the cut
        partial = []
        if i < len(self.starts) and self.starts[i] < cut:  # a word the cut runs through
            partial = _content(self.text[self.starts[i] : cut])
        whole = self.tokens[max(0, self.first[i] - 2) : self.first[i]]
        return (whole + partial)[-2:]

    def after(self, cut: int) -> list[str]:
        """The first two content tokens of text[cut:]."""
        j = bisect_left(self.starts, cut)  # words j.. start at or after the cut
        partial = []
        if j > 0 and self.ends[j - 1] > cut:
            partial = _content(self.text[cut : self.ends[j - 1]])
        return (partial + self.tokens[self.first[j] : self.first[j] + 2])[:2]


def _content(text: str) -> list[str]:
    return [
        t
        for t in tokenize(text)
        if t not in ASKING_WORDS and t not in _COMPARISON_WORDS and fold(t) not in _COMPARISON_WORDS
    ]


def _side(words: list[str], nearest: str) -> set[str]:
    """The word nearest the split, and the two words joined ("dev ops" -> "devops")."""
    return {fold(nearest), fold("".join(words))}


@dataclass(frozen=True)
class Comparison:
    """The two sides a question compares, and what it asks about them."""

    sides: tuple[frozenset[str], ...] = ()
    kind: Kind = "any"

    def __bool__(self) -> bool:
        return len(self.sides) == 2

    def compares(self, text: str, terms: set[str] | frozenset[str]) -> bool:
        """Does a statement (its folded `terms`) relate the two sides the way the question
        asks? Naming both is not enough: it must also say how they relate."""
        if not self or not (terms & self.sides[0] and terms & self.sides[1]):
            return False
        alike = self.kind != "differ" and bool(_ALIKE_SAID.search(text))
        alike = alike and not _concedes(text)
        return alike or (self.kind != "alike" and bool(_DIFFER_SAID.search(text)))


NO_COMPARISON = Comparison()


def comparison(question: str) -> Comparison:
    """The comparison a question asks for, or an empty one."""
    sides = comparison_sides(question)
    if len(sides) != 2:
        return NO_COMPARISON
    alike = bool(_ALIKE_ASKED.search(question))
    differ = bool(_DIFFER_ASKED.search(question))
    kind: Kind = "alike" if alike and not differ else "differ" if differ and not alike else "any"
    return Comparison(tuple(frozenset(s) for s in sides), kind)


# A heading that names a kind of comparison ("Similarities", "What They Have in Common",
# "Key Differences", "What Sets Them Apart") answers a question asking for that kind,
# whichever of these words each one uses.
ALIKE, DIFFER = "~alike", "~differ"


def with_kinds(words: Iterable[str]) -> set[str]:
    """Folded heading words, plus the kind of comparison any of them names."""
    out = set(words)
    if out & _ALIKE_WORDS:
        out.add(ALIKE)
    if out & _DIFFER_WORDS:
        out.add(DIFFER)
    return out


def framing_kinds(terms: QueryTerms) -> QueryTerms:
    """A question's framing words with each comparison word replaced by its kind."""
    weights: dict[str, float] = {}
    for term, weight in terms.weights.items():
        key = ALIKE if term in _ALIKE_WORDS else DIFFER if term in _DIFFER_WORDS else term
        weights[key] = max(weights.get(key, 0.0), weight)
    return QueryTerms(weights)
