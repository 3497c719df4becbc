"""Plain-text rendering of an Answer for terminals (CLI and chat)."""

from __future__ import annotations

import re

from bot.engine.types import Answer


def plural(count: int, noun: str) -> str:
    """'1 document', '2 documents'."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


_BOLD = re.compile(r"\*\*(.+?)\*\*")


def render_answer_text(answer: Answer) -> str:
    """The answer (lead first), then its numbered sources, best first, as `[n]` cites them."""
    lines = [_BOLD.sub(r"\1", answer.answer), ""]
    if answer.truncated:
        lines.insert(0, "(Your question was long; I used its first part.)\n")
    if answer.sources and answer.answered:
        lines.append("Sources:")
        for i, source in enumerate(answer.sources, start=1):
            link = f" <{source.url}>" if source.url else ""
            lines.append(
                f"  [{i}] {source.heading} — {source.path}{link} (score {source.score:.2f})"
            )
    return "\n".join(lines).rstrip() + "\n"
