"""Common DevOps/MLOps abbreviations, spelled out for the embedding model.

The packaged model reads "ML models" much less like "machine learning models" than a
person does, and a knowledge base may only ever spell out the long form. Writing the long
form beside the short one ("ML (machine learning) models") lets both dense and lexical
retrieval see it. This is general vocabulary of the field, not any one document's.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.index.abbreviations import ABBREVIATIONS

__all__ = ["ABBREVIATIONS", "spell_out"]

_WORD = re.compile(r"\b[A-Za-z][A-Za-z0-9]*\b")


def spell_out(text: str, known: Callable[[str], bool]) -> str:
    """Add the long form after each abbreviation the index never uses, when the index
    knows the long form and the question does not already spell it out. (Where the
    docs use the short form themselves, it already matches as written.)"""
    lowered = text.lower()

    def expand(match: re.Match[str]) -> str:
        word = match.group()
        long_form = ABBREVIATIONS.get(word.lower())
        if not long_form or long_form in lowered or known(word.lower()):
            return word
        if not all(known(part) for part in re.split(r"[\s-]+", long_form)):
            return word
        return f"{word} ({long_form})"

    return _WORD.sub(expand, text)
