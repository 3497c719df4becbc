"""Does a message ask something? For messages nobody addressed to opsbot (thread replies,
help channels), where answering chatter would be noise and missing a question costs little.

Asks: a question mark outside code, an opening that asks why / what is / how to (the
question shapes of bot/engine/shape.py), a request for help ("can someone…"), or a pasted
error. Chatter: nothing but acknowledgements and small talk ("thanks!", "on it"), emoji and
punctuation. The phrases are data in lexicon.toml ([thread] chatter, [asking] requests).
"""

from __future__ import annotations

import re
from functools import cache

from bot.engine.lexicon import lexicon, opening_pattern, phrase_pattern
from bot.engine.shape import (
    DEFINITION_PHRASES,
    HOWTO_ASKERS,
    HOWTO_NOUN_WITHIN,
    HOWTO_NOUNS,
    HOWTO_PHRASES,
    WHY_OPENINGS,
    _asks_definition,
    _opens,
    _words,
    pasted_error,
)

_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)
_URL = re.compile(r"https?://\S+")
_EMOJI = re.compile(r":[a-z0-9_+'-]+:")


@cache
def _chatter() -> re.Pattern[str]:
    thread = lexicon().raw["thread"]
    return phrase_pattern([*thread["acknowledgements"], *thread["chatter"]])


@cache
def _requests() -> re.Pattern[str]:
    return opening_pattern(lexicon().words("asking", "requests"))


def is_chatter(text: str) -> bool:
    """Only acknowledgements, small talk, emoji and punctuation ('thanks!', 'on it 👍')."""
    rest = _chatter().sub(" ", _EMOJI.sub(" ", text))
    return not re.search(r"\w", rest)


def asks_something(text: str) -> bool:
    """True when `text` reads as a question or a request for help (see the module doc)."""
    if not text.strip() or is_chatter(text):
        return False
    if pasted_error(text):
        return True
    prose = _URL.sub(" ", _CODE.sub(" ", text))
    if "?" in prose:
        return True
    if _requests().search(prose) or _opens(prose, WHY_OPENINGS):
        return True
    if _asks_definition(prose) and not _opens(prose, DEFINITION_PHRASES):
        return True  # "what is a canary" (but "what do you think" is no definition)
    words = _words(prose)
    if any(f" {p} " in words for p in HOWTO_PHRASES):
        return True
    first = words.split()
    return (
        bool(first)
        and first[0] in HOWTO_ASKERS
        and any(w in HOWTO_NOUNS for w in first[1 : 1 + HOWTO_NOUN_WITHIN])
    )
