"""Writing the answer: the most relevant whole sentences of the best passage(s)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.engine.types import Source

MAX_ANSWER_CHARS = 1200
_WORD = re.compile(r"[a-z0-9][a-z0-9_\-./]*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9`\"'(\[*])")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "us",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "should",
        "could",
        "just",
        "any",
        "some",
        "about",
    ]
)


def terms(text: str) -> set[str]:
    return {w.strip("-./") for w in _WORD.findall(text.lower())} - STOPWORDS - {""}


def split_units(passage: str) -> list[str]:
    """Blocks (code fences, list items, table rows kept whole), paragraphs split into sentences."""
    units: list[str] = []
    for block in re.split(r"\n\s*\n", passage.strip()):
        stripped = block.strip()
        if not stripped:
            continue
        structured = stripped.startswith(("```", "|", "-", "*", "#", ">")) or re.match(
            r"^\d+[.)]\s", stripped
        )
        if structured or "\n" in stripped:
            units.append(stripped)
        else:
            units.extend(s.strip() for s in _SENTENCE_END.split(stripped) if s.strip())
    return units


def best_excerpt(passage: str, question: str, budget: int = MAX_ANSWER_CHARS) -> str:
    """The window of consecutive units that covers most question terms within the budget."""
    if len(passage) <= budget:
        return passage.strip()
    units = split_units(passage)
    wanted = terms(question)
    scores = [len(terms(u) & wanted) for u in units]
    best_start, best_end, best_score = 0, 0, -1.0
    for start in range(len(units)):
        length, end, score = 0, start, 0.0
        while end < len(units) and length + len(units[end]) + 1 <= budget:
            length += len(units[end]) + 1
            score += scores[end]
            end += 1
        if end > start and score > best_score:
            best_start, best_end, best_score = start, end, score
    if best_end == best_start:  # a single unit longer than the budget: cut at a word
        return _cut(units[0] if units else passage, budget)
    joined = "\n\n".join(units[best_start:best_end])
    return joined if len(joined) <= budget else " ".join(units[best_start:best_end])


def _cut(text: str, budget: int) -> str:
    if text.startswith("```"):
        lines, kept, size = text.splitlines(), [], 0
        for line in lines[:-1]:
            if size + len(line) + 5 > budget:
                break
            kept.append(line)
            size += len(line) + 1
        return "\n".join(kept) + "\n```"
    return text[:budget].rsplit(" ", 1)[0] + " …"


_COMMON_ASK = re.compile(r"\b(in common|similar\w*|share|both|overlap\w*)\b", re.IGNORECASE)
_DIFF_ASK = re.compile(r"\b(differ\w*|vs\.?|versus|compar\w*|contrast|apart)\b", re.IGNORECASE)
_COMMON_HEADING = re.compile(r"common|similar|shared?\b|both|overlap", re.IGNORECASE)
_DIFF_HEADING = re.compile(r"differ|apart|\bvs\b|versus|contrast|distinguish|compar", re.IGNORECASE)
CUE_WINDOW = 0.1  # a cue-matching section may outrank a better-scoring one by this much


def prefer_comparison_sections(question: str, sources: Sequence[Source]) -> list[Source]:
    """For 'what differs' / 'what's in common' questions, lead with the section whose
    heading says so ("What Sets Them Apart", "Differences", "Similarities")."""
    if _COMMON_ASK.search(question):
        cue = _COMMON_HEADING
    elif _DIFF_ASK.search(question):
        cue = _DIFF_HEADING
    else:
        return list(sources)
    if not sources:
        return []
    best = max(s.score for s in sources)

    def matches(source: Source) -> bool:
        own = source.heading.split(" › ")[1:]  # the title is shared by every section
        return bool(own) and bool(cue.search(own[-1])) and source.score >= best - CUE_WINDOW

    return sorted(sources, key=lambda s: not matches(s))


def compose(question: str, sources: Sequence[Source], comparative: bool) -> str:
    """Lead with the best passage; for comparisons, show a second section beside it."""
    if not sources:
        return ""
    best = sources[0]
    partner = None
    if comparative:
        partner = next(
            (s for s in sources[1:] if s.heading != best.heading and s.score >= best.score - 0.12),
            None,
        )
    if partner is None:
        return best_excerpt(best.text, question)
    half = MAX_ANSWER_CHARS // 2
    parts = [
        f"**{_section_label(s)}**\n{best_excerpt(s.text, question, half)}" for s in (best, partner)
    ]
    return "\n\n".join(parts)


def _section_label(source: Source) -> str:
    return source.heading.split(" › ")[-1]


def decline_text(topics: Sequence[str]) -> str:
    listed = ", ".join(topics[:10])
    more = f" and {len(topics) - 10} more" if len(topics) > 10 else ""
    return (
        "I don't have anything on that in my knowledge base, so I won't guess. "
        f"I can answer questions about: {listed}{more}."
    )
