"""What kind of answer a question wants: steps, a fix, a definition, a reason, a yes or no.

The lead is shaped by it (`bot/engine/compose.py`). The phrases live in the lexicon's
`[shape]` table; the first family that matches wins, in the order below.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Literal

from bot.engine.lexicon import lexicon, opening_pattern

Shape = Literal["error", "howto", "definition", "why", "yesno", "other"]
_ORDER: tuple[Shape, ...] = ("error", "howto", "definition", "why", "yesno")


def question_shape(text: str) -> Shape:
    """The kind of answer `text` asks for ("other" when nothing says)."""
    lex = lexicon()
    lowered = text.strip().lower()
    if lex.pattern("shape", "error").search(lowered):
        return "error"
    if lex.pattern("shape", "howto").search(lowered):
        return "howto"
    for shape in _ORDER[2:]:  # these are told by how the question opens
        if _opening(shape).search(lowered):
            return shape
    return "other"


@cache
def _opening(shape: str) -> re.Pattern[str]:
    return opening_pattern(lexicon().words("shape", shape))
