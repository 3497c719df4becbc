"""Plain-text rendering of an Answer for terminals (CLI and chat)."""

from __future__ import annotations

from bot.engine.types import Answer


def render_text(answer: Answer) -> str:
    lines = [answer.answer, ""]
    if answer.truncated:
        lines.insert(0, "(Your question was long; I used its first part.)\n")
    if answer.sources:
        lines.append("Sources:" if answer.answered else "Nearest passages (not a match):")
        for i, source in enumerate(answer.sources, start=1):
            link = f" <{source.url}>" if source.url else ""
            lines.append(
                f"  {i}. {source.heading} — {source.path}{link} (score {source.score:.2f})"
            )
    return "\n".join(lines).rstrip() + "\n"
