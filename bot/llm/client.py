"""The official `openai` client, imported only here and only when an LLM is configured."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.config import ConfigError
from bot.errors import OpsbotError
from bot.llm.settings import LLMSettings

CHECK_TIMEOUT = 10.0


class LLMError(OpsbotError, RuntimeError):
    """A generation failed; `reason` is the fallback label (timeout, http_429, ...)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass
class Usage:
    """Token counts, from the server's `usage` when it sends one, else counted chunks."""

    prompt: int = 0
    completion: int = 0
    chunks: int = 0
    finish_reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def make_client(settings: LLMSettings, timeout: float | None = None) -> Any:
    """An `openai.OpenAI` on LLM_BASE_URL; one retry (429 honours Retry-After)."""
    try:
        from openai import OpenAI, Timeout
    except ImportError:
        raise ConfigError(
            "LLM_BASE_URL is set but the openai package is missing; "
            "install it with: pip install 'opsbot[llm]'"
        ) from None
    limit = timeout or settings.timeout
    return OpenAI(
        base_url=settings.base_url,
        api_key=settings.api_key or "not-needed",  # local servers ignore it; the SDK wants one
        timeout=Timeout(limit, connect=min(5.0, limit)),
        max_retries=1,
    )


def check(settings: LLMSettings) -> None:
    """Start-up check: URL reachable, key accepted, model served. ConfigError in one line."""
    import openai

    client = make_client(settings, min(settings.timeout, CHECK_TIMEOUT))
    where = f"LLM_BASE_URL {settings.host}"
    try:
        served = [m.id for m in client.models.list()]
        if settings.model in served:
            return
        # Some servers (Azure deployments, aliases) do not list every name they accept:
        # a one-token completion is the cheap way to know.
        client.chat.completions.create(
            model=settings.model, messages=[{"role": "user", "content": "ok"}], max_tokens=1
        )
    except openai.AuthenticationError:
        raise ConfigError(f"LLM_API_KEY was rejected by {where} (401)") from None
    except openai.PermissionDeniedError:
        raise ConfigError(f"LLM_API_KEY may not use {where} (403)") from None
    except (openai.NotFoundError, openai.BadRequestError) as exc:
        listed = ", ".join(served[:5]) if "served" in locals() and served else ""
        hint = f" (it serves: {listed})" if listed else " (does the URL end in /v1?)"
        status = getattr(exc, "status_code", "")
        raise ConfigError(
            f"LLM_MODEL {settings.model!r} is not served by {where} ({status}){hint}"
        ) from None
    except openai.APITimeoutError:
        raise ConfigError(f"{where} did not answer within {CHECK_TIMEOUT:g} s") from None
    except openai.APIConnectionError as exc:
        cause = exc.__cause__ or exc
        raise ConfigError(f"cannot reach {where} ({type(cause).__name__})") from None
    except openai.APIStatusError as exc:
        raise ConfigError(f"{where} answered HTTP {exc.status_code} to the check") from None
    except openai.OpenAIError as exc:
        raise ConfigError(f"{where} failed the start-up check ({type(exc).__name__})") from None


def stream_chat(
    client: Any, settings: LLMSettings, messages: list[dict[str, str]], usage: Usage
) -> Iterator[str]:
    """Yield text deltas; every failure becomes an LLMError with a fallback reason."""
    import openai

    try:
        stream = client.chat.completions.create(
            model=settings.model,
            messages=messages,
            max_tokens=settings.max_tokens,
            temperature=0.1,
            stream=True,
            stream_options={"include_usage": True},
        )
        with stream:
            for chunk in stream:
                if getattr(chunk, "usage", None):
                    usage.prompt = chunk.usage.prompt_tokens or 0
                    usage.completion = chunk.usage.completion_tokens or 0
                for choice in chunk.choices or []:
                    usage.finish_reason = choice.finish_reason or usage.finish_reason
                    text = choice.delta.content if choice.delta else None
                    if text:
                        usage.chunks += 1
                        yield text
    except openai.APITimeoutError as exc:
        raise LLMError("timeout", str(exc)) from exc
    except openai.RateLimitError as exc:
        raise LLMError("http_429", _short(exc)) from exc
    except openai.APIStatusError as exc:
        raise LLMError(f"http_{exc.status_code // 100}xx", _short(exc)) from exc
    except openai.APIConnectionError as exc:
        raise LLMError("connection", type(exc.__cause__ or exc).__name__) from exc
    except openai.OpenAIError as exc:  # bad JSON in the stream, protocol errors
        raise LLMError("bad_response", _short(exc)) from exc
    except (ValueError, KeyError, AttributeError, TypeError) as exc:  # malformed chunks
        raise LLMError("bad_response", type(exc).__name__) from exc
    except Exception as exc:  # the HTTP library's own errors surface unwrapped mid-stream
        if not type(exc).__module__.startswith(("httpx", "httpcore", "h11", "anyio")):
            raise
        reason = "timeout" if "Timeout" in type(exc).__name__ else "stream_cut"
        raise LLMError(reason, type(exc).__name__) from exc


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200]
