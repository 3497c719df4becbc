"""Optional generated answers from an OpenAI-compatible model, checked against the sources.

Nothing here imports `openai` unless LLM_BASE_URL is set: `settings.from_env` is pure
Python, and `client` imports the SDK lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.llm.writer import Writer


def open_writer(embedder: Any, env: dict[str, str] | None = None) -> Writer | None:
    """The configured Writer after the start-up check, or None when LLM_BASE_URL is unset.

    Raises ConfigError (exit code 2) for a bad URL, key or model.
    """
    from bot.llm.settings import from_env

    settings = from_env(env)
    if settings is None:
        return None
    from bot.llm.client import check
    from bot.llm.writer import Writer

    check(settings)
    return Writer(settings, embedder)
