"""Settings from flags, then environment, then `.env`, then defaults.

Every bad value becomes a `ConfigError` with a one-line message; the CLI turns
that into exit code 2 instead of a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import Field, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from bot.errors import OpsbotError

DEFAULT_STATE_DIR = Path(".opsbot")
DEFAULT_KNOWLEDGE_DIR = Path("knowledge")  # used when no source is declared anywhere


class ConfigError(OpsbotError, ValueError):
    """A setting is missing or malformed; the message names the variable."""

    exit_code = 2


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


def _paths(raw: str) -> tuple[Path, ...]:
    """Several knowledge roots: os.pathsep-separated."""
    return tuple(Path(p) for p in raw.split(os.pathsep) if p.strip())


def _sources(raw: str) -> tuple[Any, ...]:
    from bot.sources.spec import parse_sources

    return parse_sources(raw)


def _knowledge_urls(raw: str) -> tuple[tuple[str, str], ...]:
    from bot.ingest.urls import parse_knowledge_urls

    return parse_knowledge_urls(raw)


def env_field(
    default: Any,
    *,
    env: str | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] = (),
    parse: Callable[[str], Any] | None = None,
) -> Any:
    """A `Settings` field with how its environment variable is read and checked."""
    meta = {"env": env, "min": minimum, "max": maximum, "choices": choices, "parse": parse}
    return field(default=default, metadata=meta)


def _index_url(raw: str) -> str:
    if not raw.startswith(("postgresql://", "postgres://")):
        raise ConfigError(f"INDEX_URL must be a postgresql:// URL, got {raw.split(':')[0]!r}://…")
    return raw


def _threshold(raw: str) -> float:
    return _float("DECLINE_THRESHOLD", raw)


@dataclass(frozen=True)
class Settings:
    """All tunables in one place. Field names map to UPPER_CASE environment variables."""

    knowledge_dirs: tuple[Path, ...] = env_field((), env="KNOWLEDGE_DIR", parse=_paths)
    # --source / KNOWLEDGE_SOURCES: folders, git+URLs and docs sites (bot/sources/spec.py)
    knowledge_sources: tuple[Any, ...] = env_field((), parse=_sources)
    knowledge_outside_links: bool = False  # follow symlinks out of the knowledge folders
    index_dir: Path = DEFAULT_STATE_DIR / "index"
    # postgresql://…: the shared index many replicas read (bot/index/pgstore.py)
    index_url: str = env_field("", parse=_index_url)
    data_dir: Path = DEFAULT_STATE_DIR / "data"
    embedding_model: str = ""  # empty means the packaged all-MiniLM-L6-v2
    # an OpenAI-compatible /v1 serving embeddings instead of the in-process model
    embedding_base_url: str = ""
    embedding_api_key: str = ""
    embedding_batch: int = env_field(64, minimum=1)
    embedding_concurrency: int = env_field(4, minimum=1)
    embedding_timeout: float = env_field(120.0, minimum=1)  # seconds a request may take
    top_k: int = env_field(3, minimum=1)
    chunk_tokens: int = env_field(256, minimum=32, maximum=512)
    max_file_bytes: int = env_field(5_000_000, minimum=1)
    # per-file budgets (bot/ingest/budget.py): over any, the file is skipped with a warning
    max_file_seconds: float = env_field(60.0, minimum=0.1)
    max_file_chars: int = env_field(5_000_000, minimum=1)
    max_file_pages: int = env_field(2_000, minimum=1)
    max_file_nesting: int = env_field(100, minimum=2, maximum=200)
    # empty: the threshold calibrated for each index at ingest (bot/engine/calibration.py)
    decline_threshold: float | None = env_field(None, parse=_threshold)
    max_question_chars: int = env_field(4000, minimum=16)
    exact_index_limit: int = env_field(20_000, minimum=1)
    reload_interval: int = env_field(30, minimum=0)
    source_timeout: float = env_field(120.0, minimum=1)  # one git command of a source sync
    shutdown_timeout: float = env_field(20.0, minimum=0)
    log_format: str = env_field("text", choices=("text", "json"))
    store_questions: bool = True
    retention_days: int = env_field(90, minimum=0)
    database_url: str = ""
    # seconds to wait at start-up for a PostgreSQL that is not reachable yet
    database_wait: float = env_field(0.0, minimum=0)
    # (root folder name or '', base URL) pairs
    knowledge_urls: tuple[tuple[str, str], ...] = env_field((), parse=_knowledge_urls)
    # docs-site sources (bot/sources/site.py): pages per sync, parallel requests, seconds
    # per request and per sync
    site_max_pages: int = env_field(2000, minimum=1)
    site_concurrency: int = env_field(4, minimum=1, maximum=32)
    site_timeout: float = env_field(20.0, minimum=0.1)
    site_budget: float = env_field(900.0, minimum=1)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def with_overrides(self, **overrides: Any) -> Settings:
        """Apply CLI flags (None means 'not given')."""
        clean = {k: v for k, v in overrides.items() if v is not None and v != ()}
        if "knowledge_dir" in clean:  # one root, as a single path
            clean["knowledge_dirs"] = (clean.pop("knowledge_dir"),)
        if "knowledge_dirs" in clean:
            clean["knowledge_dirs"] = tuple(Path(p) for p in clean["knowledge_dirs"])
        if "index_url" in clean:
            clean["index_url"] = _index_url(clean["index_url"])
        for key in ("index_dir", "data_dir"):
            if key in clean:
                clean[key] = Path(clean[key])
        return replace(self, **clean)

    @property
    def names_knowledge(self) -> bool:
        """Was a knowledge source named by a flag, the environment or opsbot.toml (not
        just the `knowledge/` default)? A replica of a shared index names none."""
        if self.knowledge_dirs or self.knowledge_sources:
            return True
        from bot.sources.registry import file_sources

        try:
            return bool(file_sources())
        except ConfigError:
            return False

    @property
    def knowledge_dir(self) -> Path:
        """The first knowledge root (the only one in the common single-root set-up)."""
        return self.folder_roots()[0]

    def folder_roots(self) -> tuple[Path, ...]:
        """The knowledge folders given, or `knowledge/` when no source is declared at all
        (and no shared index is read: a replica of one needs no folder)."""
        if self.knowledge_dirs or self.knowledge_sources or self.index_url:
            return self.knowledge_dirs
        return (DEFAULT_KNOWLEDGE_DIR,)

    def source_specs(self, from_file: Sequence[Any] = ()) -> tuple[Any, ...]:
        """Every declared source as a named `SourceSpec`: folders, then --source and
        KNOWLEDGE_SOURCES, then the config file's (which only add settings to a source
        already given). `knowledge/` when none is declared anywhere."""
        from bot.sources.spec import SourceSpec, default_name, merge

        declared = self.knowledge_sources or from_file
        roots = self.knowledge_dirs if declared else self.folder_roots()
        folders = [SourceSpec(default_name("folder", str(p)), "folder", str(p)) for p in roots]
        return merge([*folders, *self.knowledge_sources], from_file)

    def require_knowledge_dirs(self) -> tuple[Path, ...]:
        """Every root must exist, and root folder names must differ (they prefix paths)."""
        roots = self.folder_roots()
        if not roots:
            raise ConfigError("KNOWLEDGE_DIR is empty: give at least one knowledge folder")
        names: dict[str, Path] = {}
        for root in roots:
            if not root.is_dir():
                raise ConfigError(f"KNOWLEDGE_DIR {str(root)!r} is not a directory")
            name = root.resolve().name
            if len(roots) > 1 and name in names:
                raise ConfigError(
                    f"knowledge folders {str(names[name])!r} and {str(root)!r} have the same "
                    "name; their documents' paths would collide"
                )
            names[name] = root
        return roots


def env_name(f: Field[Any]) -> str:
    """The environment variable of a `Settings` field: its name in upper case, by default."""
    return f.metadata.get("env") or f.name.upper()


def _parse(f: Field[Any], name: str, raw: str) -> Any:
    """One environment value, typed like the field's default and checked against its limits."""
    meta = f.metadata
    low, high = meta.get("min"), meta.get("max")
    if meta.get("parse"):
        return meta["parse"](raw)
    if isinstance(f.default, bool):
        return _bool(name, raw)
    if isinstance(f.default, int):
        value = _int(name, raw, int(low or 0))
        if high is not None and value > high:
            raise ConfigError(f"{name} must be at most {high}")
        return value
    if isinstance(f.default, float):
        number = _float(name, raw)
        if low is not None and number < low:
            raise ConfigError(f"{name} must be at least {low:g}, got {raw!r}")
        return number
    if isinstance(f.default, Path):
        return Path(raw)
    if meta.get("choices") and raw not in meta["choices"]:
        allowed = " or ".join(repr(c) for c in meta["choices"])
        raise ConfigError(f"{name} must be {allowed}, got {raw!r}")
    return raw


def from_env(env: dict[str, str] | None = None) -> Settings:
    """Build settings from the environment (call `load_dotenv_once` first for `.env`).

    Every `Settings` field but `extra` has a variable (see `env_name`), so a new field
    cannot be forgotten here.
    """
    env = dict(os.environ if env is None else env)
    values: dict[str, Any] = {}
    for f in fields(Settings):
        if f.name == "extra":
            continue
        name = env_name(f)
        raw = env.get(name)
        if raw not in (None, ""):
            values[f.name] = _parse(f, name, raw)
    return Settings(**values)
