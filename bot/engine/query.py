"""Turning what a user typed (often Slack markup) into a clean search query."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_USER = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#C[A-Z0-9]+(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(?:subteam\^[A-Z0-9]+|[a-z]+)(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_EMOJI = re.compile(r":[a-z0-9_+\-']+:")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class CleanQuery:
    text: str
    truncated: bool


def clean_question(raw: str, max_chars: int = 4000) -> CleanQuery:
    """Strip mentions, channel refs, broadcasts, link markup and emoji; cap the length."""
    text = _USER.sub(" ", raw)
    text = _CHANNEL.sub(lambda m: f" {m.group(1) or ''} ", text)
    text = _SPECIAL.sub(lambda m: f" {m.group(1) or ''} ", text)
    text = _LINK.sub(lambda m: f" {m.group(2) or m.group(1)} ", text)
    text = _EMOJI.sub(" ", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    text = _SPACES.sub(" ", text).strip()
    truncated = len(text) > max_chars
    if truncated:
        cut = text[:max_chars]
        text = cut.rsplit(" ", 1)[0] if " " in cut[-200:] else cut
    return CleanQuery(text, truncated)


_REFERRING = re.compile(
    r"^(?:and|or|but|also|so|then|what about|how about|tell me more|more on|more about|"
    r"same for|why|how come|which one)\b|\b(?:it|its|they|them|their|theirs|this|that|"
    r"these|those|there|former|latter|both|either|ones?)\b",
    re.IGNORECASE,
)


def refers_back(question: str, content_words: int) -> bool:
    """Does a follow-up lean on the thread ("and devops?", "who do they team up with?")?

    Only such a question borrows the thread's words; any other is judged on its own.
    """
    return content_words <= 1 or bool(_REFERRING.search(question.strip()))


_PRONOUN = re.compile(r"\b(they|them|it|this|that|these|those)\b", re.IGNORECASE)


def resolve_pronoun(question: str, topic: str) -> str:
    """Put the thread's topic in place of the question's first pronoun, so
    "who do they team up with?" after "what is mlops?" reads "who do mlops team up with?"."""
    return _PRONOUN.sub(topic, question, count=1) if topic else question


def join_split_words(text: str, known: Callable[[str], bool]) -> str:
    """Write "dev ops" as "devops" when the joined form is a word the index knows."""
    words = text.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        if i + 1 < len(words):
            a, b = words[i].lower(), words[i + 1].lower().rstrip("?.!,")
            joined = a + b
            if a.isalpha() and b.isalpha() and min(len(a), len(b)) >= 2 and known(joined):
                out.append(words[i] + words[i + 1])
                i += 2
                continue
        out.append(words[i])
        i += 1
    return " ".join(out)


# Where a question names a tool or product: "configure X", "install X", "migrate to X"
# (not "from X": leaving a tool the docs don't cover for one they do is answerable),
# "X or Y?" / "X vs Y". A name there that the knowledge base never uses means the
# question is about something it has no docs on, however close the rest of the words are.
_SETUP_SLOT = re.compile(
    r"\b(?:configur\w*|install\w*|set(?:ting)? up|setup|integrat\w*(?: with)?|adopt\w*|"
    r"(?:migrat\w*|switch\w*|mov\w*) to|enabl\w*)\s+"
    r"(?:(?:an?|the|our|my|your|their|this|that|each|every|some|another|new|own|custom|local|"
    r"private|shared|separate|existing|single|multiple)\s+)*([a-z][\w.-]*)",
    re.IGNORECASE,
)
_USE_SLOT = re.compile(
    r"\b(?:use|uses|using|run|running)\s+(?:an?\s+|the\s+|our\s+)?([a-z][\w.-]*)\s+"
    r"(?:with|for|to|in|on|together)\b",
    re.IGNORECASE,
)
_CAPABILITY = re.compile(
    r"\b(?:does|do|can|will|could)\s+([a-z][\w.-]*)\s+(?:support|handle|integrate|work with)\b",
    re.IGNORECASE,
)
_ALTERNATIVES = re.compile(
    r"\b([a-z][\w.-]*)\s+(?:or|vs\.?|versus|compared (?:to|with))\s+([a-z][\w.-]*)\b",
    re.IGNORECASE,
)


def unknown_names(question: str, known: Callable[[str], bool]) -> list[str]:
    """Tool-like names the question asks about that the index has never seen: the word
    after a set-up verb ("configure X"), "use X for/with…", the subject of "does X
    support", or both sides
    of "X or Y" / "X vs Y" when neither is known."""
    from bot.engine.terms import ASKING_WORDS
    from bot.index.lexical import STOPWORDS

    def unseen(word: str) -> bool:
        word = word.lower().strip(".-")
        return (
            len(word) >= 3
            and word not in STOPWORDS
            and word not in ASKING_WORDS
            and not word.isdigit()
            and not word.endswith("ly")  # "set up locally": how, not what
            and not known(word)
            and not all(known(part) for part in re.split(r"[._-]", word) if part)
        )

    slots = [*_SETUP_SLOT.finditer(question), *_USE_SLOT.finditer(question)]
    slots += _CAPABILITY.finditer(question)
    found = [m.group(1) for m in slots if unseen(m.group(1))]
    for match in _ALTERNATIVES.finditer(question):
        if unseen(match.group(1)) and unseen(match.group(2)):
            found += [match.group(1), match.group(2)]
    return list(dict.fromkeys(w.lower().strip(".-") for w in found))
