"""Turning what a user typed (often Slack markup) into a clean search query."""

from __future__ import annotations

import re
from dataclasses import dataclass

_USER = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#C[A-Z0-9]+(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(?:subteam\^[A-Z0-9]+|[a-z]+)(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_EMOJI = re.compile(r":[a-z0-9_+\-']+:")
_SPACES = re.compile(r"\s+")

COMPARATIVE = re.compile(
    r"\b(differen\w*|differ|vs\.?|versus|compar\w*|in common|similar\w*|contrast|"
    r"better than)\b",
    re.IGNORECASE,
)


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


def is_comparative(question: str) -> bool:
    """'differences', 'vs', 'in common' questions often need two sections."""
    lowered = question.lower()
    return bool(COMPARATIVE.search(lowered)) and not lowered.startswith(("or ",))
