"""LLM_* settings: parsed from the environment, each bad value a one-line ConfigError."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlparse

from bot.config import ConfigError
from bot.ingest.urls import parse_knowledge_urls
from bot.observability.urls import safe_url


@dataclass(frozen=True)
class LLMSettings:
    """Where the model is and how hard we may use it."""

    base_url: str
    model: str
    api_key: str = ""
    timeout: float = 20.0
    max_tokens: int = 400
    concurrency: int = 2
    link_bases: tuple[str, ...] = ()  # KNOWLEDGE_URLS bases: hosts generated links may use

    @property
    def host(self) -> str:
        """The server's scheme, host and port, for logs and /healthz (never a password)."""
        return safe_url(self.base_url)


def from_env(env: dict[str, str] | None = None) -> LLMSettings | None:
    """None when LLM_BASE_URL is unset: the bot stays extractive and imports nothing."""
    env = dict(os.environ if env is None else env)

    def get(name: str) -> str:
        return (env.get(name) or "").strip()

    base_url = get("LLM_BASE_URL")
    if not base_url:
        return None
    parsed = urlparse(base_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"LLM_BASE_URL must be an http(s) URL, got {safe_url(base_url)!r}")
    model = get("LLM_MODEL")
    if not model:
        raise ConfigError("LLM_MODEL is required when LLM_BASE_URL is set (e.g. llama3.2)")
    timeout = _number("LLM_TIMEOUT", get("LLM_TIMEOUT"), 20.0)
    if not 0 < timeout <= 600:
        raise ConfigError(f"LLM_TIMEOUT must be between 0 and 600 seconds, got {timeout:g}")
    return LLMSettings(
        base_url=base_url.rstrip("/"),
        model=model,
        api_key=get("LLM_API_KEY"),
        timeout=timeout,
        max_tokens=int(_number("LLM_MAX_TOKENS", get("LLM_MAX_TOKENS"), 400, integer=True)),
        concurrency=int(_number("LLM_CONCURRENCY", get("LLM_CONCURRENCY"), 2, integer=True)),
        link_bases=tuple(base for _root, base in parse_knowledge_urls(get("KNOWLEDGE_URLS"))),
    )


def _number(name: str, raw: str, default: float, *, integer: bool = False) -> float:
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"{name} must be {kind}, got {raw!r}") from None
    if integer and value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    return value
