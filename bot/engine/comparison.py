"""Comparison questions: "X vs Y", "how do X and Y differ", "what do X and Y share".

Such a question is answered by statements that set X against Y, not by one that merely
names both ("there are two players: X and Y"). Which statements count depends on what is
asked: how they differ ("while", "but", "unlike") or how they are alike ("both", "also",
"the same"); "X vs Y" takes either.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from bot.engine.terms import ASKING_WORDS, QueryTerms, fold
from bot.index.lexical import tokenize

Kind = Literal["alike", "differ", "any"]

_ALIKE_ASKED = re.compile(
    r"\b(?:in common|similar\w*|alike|overlap\w*|share[ds]?|the same|both)\b", re.IGNORECASE
)
_DIFFER_ASKED = re.compile(
    r"\b(?:differen\w*|differ|diff|distinguish\w*|apart|unlike|contrast|better than)\b",
    re.IGNORECASE,
)
_ALIKE_SAID = re.compile(
    r"\b(?:both|also|same|similar\w*|alike|too|either|neither|share[ds]?|common)\b", re.IGNORECASE
)
_DIFFER_SAID = re.compile(
    r"\b(?:while|whilst|whereas|but|unlike|however|instead|rather|than|differ\w*)\b",
    re.IGNORECASE,
)
# "X and Y might seem similar, but…" grants a likeness only to set up a difference.
_CONCESSION = re.compile(r"\b(?:similar\w*|alike|same)\b[^.;]*\b(?:but|however|yet)\b", re.I)
_NEUTRAL_ASKED = re.compile(r"\b(?:vs\.?|versus|compar\w*)\b", re.IGNORECASE)
_SPLIT_WORDS = re.compile(r"\b(?:vs\.?|versus|or|and|compared (?:to|with)|from|than|unlike|with)\b")
_ALIKE = ("common", "similar", "similarity", "similarities", "alike", "same", "share", "shared")
_DIFFER = ("differ", "difference", "differences", "different", "diff", "distinguish", "apart")
_ALIKE_WORDS = frozenset(fold(w) for w in (*_ALIKE, "shares", "overlap", "overlaps"))
_DIFFER_WORDS = frozenset(fold(w) for w in (*_DIFFER, "contrast", "unlike", "versus", "vs"))
# Words that ask for a comparison rather than name one of its sides.
_COMPARISON_WORDS = (
    _ALIKE_WORDS | _DIFFER_WORDS | {fold(w) for w in ("compare", "comparison", "better", "set")}
)


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
    for match in _SPLIT_WORDS.finditer(lowered):
        left = _content(lowered[: match.start()])
        right = _content(lowered[match.end() :])
        if left and right:
            return [_side(left[-2:], left[-1]), _side(right[:2], right[0])]
    return []


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
        alike = alike and not _CONCESSION.search(text)
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
