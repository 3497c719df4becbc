"""Settings from flags, then environment, then `.env`, then defaults.

Every bad value becomes a `ConfigError` with a one-line message; the CLI turns
that into exit code 2 instead of a traceback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

DEFAULT_STATE_DIR = Path(".opsbot")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def load_dotenv_once(path: str | os.PathLike[str] = ".env") -> None:
    """Read `.env` without overriding real environment variables (env beats .env)."""
    from dotenv import load_dotenv

    load_dotenv(path, override=False)


def _int(name: str, raw: str, minimum: int = 0) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None


def _bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    """All tunables in one place. Field names map to UPPER_CASE environment variables."""

    knowledge_dirs: tuple[Path, ...] = (Path("knowledge"),)
    knowledge_outside_links: bool = False  # follow symlinks out of the knowledge folders
    index_dir: Path = DEFAULT_STATE_DIR / "index"
    data_dir: Path = DEFAULT_STATE_DIR / "data"
    embedding_model: str = ""  # empty means the packaged all-MiniLM-L6-v2
    top_k: int = 3
    chunk_tokens: int = 256
    max_file_bytes: int = 5_000_000
    decline_threshold: float = 0.34
    max_question_chars: int = 4000
    exact_index_limit: int = 20_000
    reload_interval: int = 30
    shutdown_timeout: float = 20.0
    log_format: str = "text"
    store_questions: bool = True
    retention_days: int = 90
    database_url: str = ""
    knowledge_urls: tuple[tuple[str, str], ...] = ()  # (root folder name or '', base URL)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def with_overrides(self, **overrides: Any) -> Settings:
        """Apply CLI flags (None means 'not given')."""
        clean = {k: v for k, v in overrides.items() if v is not None and v != ()}
        if "knowledge_dir" in clean:  # one root, as a single path
            clean["knowledge_dirs"] = (clean.pop("knowledge_dir"),)
        if "knowledge_dirs" in clean:
            clean["knowledge_dirs"] = tuple(Path(p) for p in clean["knowledge_dirs"])
        for key in ("index_dir", "data_dir"):
            if key in clean:
                clean[key] = Path(clean[key])
        return replace(self, **clean)

    @property
    def knowledge_dir(self) -> Path:
        """The first knowledge root (the only one in the common single-root set-up)."""
        return self.knowledge_dirs[0]

    def require_knowledge_dirs(self) -> tuple[Path, ...]:
        """Every root must exist, and root folder names must differ (they prefix paths)."""
        if not self.knowledge_dirs:
            raise ConfigError("KNOWLEDGE_DIR is empty: give at least one knowledge folder")
        names: dict[str, Path] = {}
        for root in self.knowledge_dirs:
            if not root.is_dir():
                raise ConfigError(f"KNOWLEDGE_DIR {str(root)!r} is not a directory")
            name = root.resolve().name
            if len(self.knowledge_dirs) > 1 and name in names:
                raise ConfigError(
                    f"knowledge folders {str(names[name])!r} and {str(root)!r} have the same "
                    "name; their documents' paths would collide"
                )
            names[name] = root
        return self.knowledge_dirs


def from_env(env: dict[str, str] | None = None) -> Settings:
    """Build settings from the environment (call `load_dotenv_once` first for `.env`)."""
    env = dict(os.environ if env is None else env)
    values: dict[str, Any] = {}

    def get(name: str) -> str | None:
        raw = env.get(name)
        return raw if raw not in (None, "") else None

    if (raw := get("KNOWLEDGE_DIR")) is not None:  # several roots: os.pathsep-separated
        values["knowledge_dirs"] = tuple(Path(p) for p in raw.split(os.pathsep) if p.strip())
    if (raw := get("INDEX_DIR")) is not None:
        values["index_dir"] = Path(raw)
    if (raw := get("DATA_DIR")) is not None:
        values["data_dir"] = Path(raw)
    if (raw := get("EMBEDDING_MODEL")) is not None:
        values["embedding_model"] = raw
    int_vars = {
        "TOP_K": ("top_k", 1),
        "CHUNK_TOKENS": ("chunk_tokens", 32),
        "MAX_FILE_BYTES": ("max_file_bytes", 1),
        "MAX_QUESTION_CHARS": ("max_question_chars", 16),
        "EXACT_INDEX_LIMIT": ("exact_index_limit", 1),
        "RELOAD_INTERVAL": ("reload_interval", 0),
        "RETENTION_DAYS": ("retention_days", 0),
    }
    for name, (key, minimum) in int_vars.items():
        if (raw := get(name)) is not None:
            values[key] = _int(name, raw, minimum)
    if (raw := get("DECLINE_THRESHOLD")) is not None:
        values["decline_threshold"] = _float("DECLINE_THRESHOLD", raw)
    if (raw := get("SHUTDOWN_TIMEOUT")) is not None:
        values["shutdown_timeout"] = _float("SHUTDOWN_TIMEOUT", raw)
        if values["shutdown_timeout"] < 0:
            raise ConfigError(f"SHUTDOWN_TIMEOUT must be at least 0, got {raw!r}")
    if (raw := get("LOG_FORMAT")) is not None:
        if raw not in ("text", "json"):
            raise ConfigError(f"LOG_FORMAT must be 'text' or 'json', got {raw!r}")
        values["log_format"] = raw
    if (raw := get("KNOWLEDGE_OUTSIDE_LINKS")) is not None:
        values["knowledge_outside_links"] = _bool("KNOWLEDGE_OUTSIDE_LINKS", raw)
    if (raw := get("STORE_QUESTIONS")) is not None:
        values["store_questions"] = _bool("STORE_QUESTIONS", raw)
    if (raw := get("DATABASE_URL")) is not None:
        values["database_url"] = raw
    if (raw := get("KNOWLEDGE_URLS")) is not None:
        from bot.ingest.urls import parse_knowledge_urls

        values["knowledge_urls"] = parse_knowledge_urls(raw)
    settings = Settings(**values)
    if settings.chunk_tokens > 512:
        raise ConfigError("CHUNK_TOKENS must be at most 512")
    return settings
