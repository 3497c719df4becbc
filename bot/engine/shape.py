"""What kind of answer a question wants: steps, a fix, a definition, a reason, a verdict.

The kind shapes the direct answer (bot/engine/compose.py): a how-to leads with the command
or the steps, a pasted error with its cause or fix (not with the error's own words), a
definition with the defining sentence. The patterns below are plain English and live as
data; none is taken from a particular docset or question.
"""

from __future__ import annotations

import re
from typing import Literal

Shape = Literal["howto", "error", "definition", "why", "yesno", "other"]

# Phrases anywhere in the question that ask for a procedure.
HOWTO_PHRASES = (
    "how do i", "how do we", "how do you", "how can i", "how can we", "how can you",
    "how should i", "how should we", "how would i", "how would we", "how could i",
    "how could we", "how to", "how does one", "what do i need to", "what do we need to",
    "what should i do", "what should we do", "steps to", "best way to", "right way to",
    "is there a way to", "way to",
)  # fmt: skip
# "what's the command to …", "which flag …": an opening word, then one of these soon after.
HOWTO_ASKERS = ("what", "what's", "whats", "which")
HOWTO_NOUNS = (
    "command", "commands", "flag", "flags", "setting", "settings", "option", "options",
    "parameter", "parameters", "syntax", "config", "configuration", "field", "key",
    "variable", "env", "setup",
)  # fmt: skip
HOWTO_NOUN_WITHIN = 4  # "which startup flag": the noun within this many words of the asker
# A request that opens with a verb: "set up …", "configure …".
IMPERATIVES = (
    "set up", "setup", "configure", "install", "uninstall", "enable", "disable", "create",
    "add", "remove", "delete", "deploy", "upgrade", "update", "migrate", "run", "start",
    "stop", "restart", "roll back", "rollback", "rotate", "reset", "connect", "expose",
    "mount", "schedule", "write", "show me", "give me", "change", "increase", "decrease",
)  # fmt: skip
CLAUSE_ENDINGS = ("how", "how so", "fix", "any fix", "workaround", "solution")  # "…, how?"
# Words that mark a failure; inside quotes or a log-like line, they mark a pasted error.
ERROR_WORDS = (
    "error", "errors", "err", "failed", "failure", "fails", "failing", "exception",
    "panic", "panicked", "traceback", "errno", "fatal", "refused", "denied", "forbidden",
    "unauthorized", "timeout", "timed out", "deadline exceeded", "not found", "no such",
    "cannot", "unable to", "segmentation fault", "killed", "crash", "crashed", "invalid",
)  # fmt: skip
WHY_OPENINGS = ("why", "how come", "what's the reason", "what is the reason", "whats the reason")
DEFINITION_OPENINGS = (
    "what is", "what are", "what's", "whats", "what was", "define", "explain",
    "meaning of", "what exactly is", "what exactly are",
)  # fmt: skip
DEFINITION_PHRASES = ("what does", "what do")  # … "X mean" / "X stand for"
DEFINITION_ENDINGS = ("mean", "means", "stand for", "stands for", "refer to", "do")
YESNO_OPENINGS = (
    "is", "are", "was", "were", "does", "do", "did", "can", "could", "should", "shall",
    "will", "would", "has", "have", "had", "may", "might", "must", "isn't", "aren't",
    "doesn't", "don't", "can't", "won't", "shouldn't",
)  # fmt: skip
LOG_MARKERS = (
    r"\d{4}-\d{2}-\d{2}[t ]\d{2}:\d{2}",  # an ISO timestamp
    r"\blevel=\w+",  # logfmt
    r"^\s*\[?(?:error|fatal|panic|warn(?:ing)?|critical)\]?:",  # a leading log level
    r"\b[a-z]\w*(?:error|exception)\b",  # a typed error: ValueError, IOException
    r"\bexit (?:code|status) \d+",
)

# Sentences of the docs that state a fix, or a cause (for a pasted error's lead).
FIX_WORDS = (
    "to fix", "fix", "fixes", "resolve", "solve", "workaround", "instead", "make sure",
    "ensure", "increase", "decrease", "raise", "lower", "set", "try", "you can", "you need",
    "you must", "you should", "need to", "to enable", "to disable", "to avoid", "to prevent",
)  # fmt: skip
CAUSE_WORDS = (
    "because", "caused by", "due to", "happens when", "occurs when", "this means", "since",
    "the reason", "as a result", "if the", "when the",
)  # fmt: skip
DEFINING_WORDS = ("is a", "is an", "is the", "are", "means", "refers to", "is used to")
REASON_WORDS = ("because", "since", "so that", "in order to", "due to", "the reason", "as it")
VERDICT_OPENINGS = ("yes", "no", "not", "never", "always", "you can", "you cannot")

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
