"""What kind of answer a question wants: steps, a fix, a definition, a reason, a verdict.

The kind shapes the direct answer (bot/engine/compose.py): a how-to leads with the command
or the steps, a pasted error with its cause or fix (not with the error's own words), a
definition with the defining sentence. The phrases are plain English and live in the
lexicon's `[shape]` table (bot/engine/lexicon.toml); none is taken from a docset or question.
"""

from __future__ import annotations

import re
from typing import Literal

from bot.engine.lexicon import lexicon

Shape = Literal["howto", "error", "definition", "why", "yesno", "other"]


def _words_of(key: str) -> tuple[str, ...]:
    return lexicon().words("shape", key)


HOWTO_PHRASES = _words_of("howto_phrases")
HOWTO_ASKERS = _words_of("howto_askers")
HOWTO_NOUNS = _words_of("howto_nouns")
HOWTO_NOUN_WITHIN = int(lexicon().raw["shape"]["howto_noun_within"])
IMPERATIVES = _words_of("imperatives")
CLAUSE_ENDINGS = _words_of("clause_endings")
ERROR_WORDS = _words_of("error_words")
WHY_OPENINGS = _words_of("why_openings")
DEFINITION_OPENINGS = _words_of("definition_openings")
DEFINITION_PHRASES = _words_of("definition_phrases")
DEFINITION_ENDINGS = _words_of("definition_endings")
YESNO_OPENINGS = _words_of("yesno_openings")
LOG_MARKERS = _words_of("log_markers")
FIX_WORDS = _words_of("fix_words")
CAUSE_WORDS = _words_of("cause_words")
DEFINING_WORDS = _words_of("defining_words")
REASON_WORDS = _words_of("reason_words")
VERDICT_OPENINGS = _words_of("verdict_openings")
POINTER_OPENINGS = _words_of("pointer_openings")
POINTER_MAX_WORDS = int(lexicon().raw["shape"]["pointer_max_words"])
BACK_OPENINGS = _words_of("back_openings")
ASIDE_HEADINGS = frozenset(_words_of("aside_headings"))

_QUOTED = re.compile(r"`([^`]+)`|\"([^\"]{4,})\"|'([^']{4,})'|“([^”]{4,})”|‘([^’]{4,})’")
_LOG = tuple(re.compile(p, re.IGNORECASE | re.MULTILINE) for p in LOG_MARKERS)
_CLAUSE = re.compile(r"[?!.;,\n]+\s+|[?!.;,\n]+$")


def _words(text: str) -> str:
    """Lowercase, apostrophes kept, other punctuation as spaces: ' how do i set x '."""
    return (
        " " + " ".join(re.sub(r"[^a-z0-9'’]+", " ", text.lower()).replace("’", "'").split()) + " "
    )


def _has(text: str, phrases: tuple[str, ...]) -> bool:
    words = _words(text)
    return any(f" {p} " in words for p in phrases)


def _opens(text: str, phrases: tuple[str, ...]) -> bool:
    words = _words(text)
    return any(words.startswith(f" {p} ") for p in phrases)


def _clauses(text: str) -> list[str]:
    return [c for c in (c.strip() for c in _CLAUSE.split(text)) if c]


def pasted_error(text: str) -> str:
    """The error text the user pasted: quoted or backticked text, or log-like lines,
    holding a failure word. Empty when there is none."""
    found = []
    for match in _QUOTED.finditer(text):
        quoted = next(g for g in match.groups() if g)
        if _has(quoted, ERROR_WORDS) or any(p.search(quoted) for p in _LOG):
            found.append(quoted)
    for line in text.splitlines():
        if any(p.search(line) for p in _LOG) and line not in found:
            found.append(line.strip())
    return "\n".join(found)


def _asks_howto(clause: str) -> bool:
    if _opens(clause, DEFINITION_PHRASES) and _asks_definition(clause):
        return False  # "what does the --x flag do" asks what it is
    if _has(clause, HOWTO_PHRASES) or _opens(clause, IMPERATIVES):
        return True
    words = _words(clause).split()
    if words and words[0] in HOWTO_ASKERS:
        return any(w in HOWTO_NOUNS for w in words[1 : 1 + HOWTO_NOUN_WITHIN])
    return _words(clause).strip() in CLAUSE_ENDINGS[:2]


def _asks_definition(clause: str) -> bool:
    if _opens(clause, DEFINITION_PHRASES):
        return _words(clause).rstrip().endswith(tuple(f" {e}" for e in DEFINITION_ENDINGS))
    return _opens(clause, DEFINITION_OPENINGS)


def question_shape(text: str) -> Shape:
    """The kind of answer `text` asks for (see the module's docstring)."""
    if pasted_error(text):
        return "error"
    clauses = _clauses(text) or [text]
    if any(_asks_howto(c) for c in clauses):
        return "howto"
    first = clauses[0]
    if _opens(first, WHY_OPENINGS):
        return "why"
    if _asks_definition(first):
        return "definition"
    if _opens(first, YESNO_OPENINGS):
        return "yesno"
    if _has(text, ERROR_WORDS):
        return "error"
    if any(_opens(c, WHY_OPENINGS) for c in clauses):
        return "why"
    if any(_opens(c, YESNO_OPENINGS) for c in clauses):
        return "yesno"
    return "other"


def states_fix(sentence: str) -> bool:
    return _has(sentence, FIX_WORDS)


def states_cause(sentence: str) -> bool:
    return _has(sentence, CAUSE_WORDS)


def defines(sentence: str) -> bool:
    return _has(sentence, DEFINING_WORDS)


def gives_reason(sentence: str) -> bool:
    return _has(sentence, REASON_WORDS)


def gives_verdict(sentence: str) -> bool:
    return _opens(sentence, VERDICT_OPENINGS)


def points_elsewhere(sentence: str) -> bool:
    """A short sentence that only sends the reader on ("See the X docs for more.")."""
    return _opens(sentence, POINTER_OPENINGS) and len(sentence.split()) <= POINTER_MAX_WORDS


def refers_back(sentence: str) -> bool:
    """The sentence leans on the one before it ("The second is…", "This means…")."""
    return _opens(sentence, BACK_OPENINGS)


def aside_heading(heading: str) -> bool:
    """A section that checks, sums up or prepares ("Testing", "Summary", "Prerequisites")."""
    return _words(heading).strip() in ASIDE_HEADINGS
