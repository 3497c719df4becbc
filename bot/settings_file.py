"""`opsbot.toml`: named sources with who may see them, and per-channel settings.

    [[source]]
    name = "security"
    path = "/srv/kb/security"            # or uri = "git+…" / "https://…"
    allow = ["C0SECURITY", "S0SECTEAM"]  # channels, user groups (and users) that may see it
    url = "https://wiki.example.com/security/"   # optional: where its files are on the web

    [[channel]]
    id = "C0HELP"
    respond = "questions"   # "mention" (default) | "questions" | "off"
    sources = ["runbooks"]  # default: every source the asker may see
    escalate = "S0ONCALL"   # the user group "Ask a person" notifies

Read with `tomllib` from OPSBOT_CONFIG (default `opsbot.toml` in the working directory;
a missing default file is no error). Every mistake is one `ConfigError` line naming the key.
`LiveConfig` re-reads the file when it changes and keeps the last good one when it is bad.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from bot.config import ConfigError
from bot.sources.spec import SourceSpec, parse_source

log = logging.getLogger(__name__)

DEFAULT_PATH = Path("opsbot.toml")
Respond = Literal["mention", "questions", "off"]
RESPONDS: tuple[Respond, ...] = ("mention", "questions", "off")
_SOURCE_KEYS = {"name", "path", "uri", "allow", "url"}
_CHANNEL_KEYS = {"id", "respond", "sources", "escalate"}
_SLACK_ID = re.compile(r"^[A-Z][A-Z0-9]{2,}$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")


@dataclass(frozen=True)
class ChannelSettings:
    """How opsbot behaves in one channel."""

    id: str
    respond: Respond = "mention"
    sources: tuple[str, ...] = ()  # () = every source the asker may see
    escalate: str = ""  # user group id for "Ask a person"; '' = no group to mention


DEFAULT_CHANNEL = ChannelSettings("")


@dataclass(frozen=True)
class FileSettings:
    """What the config file says (empty when there is no file)."""

    sources: tuple[SourceSpec, ...] = ()
    channels: Mapping[str, ChannelSettings] = field(default_factory=dict)
    path: Path | None = None

    def channel(self, channel_id: str) -> ChannelSettings:
        return self.channels.get(channel_id) or replace(DEFAULT_CHANNEL, id=channel_id)


def config_path(env: Mapping[str, str] | None = None) -> tuple[Path, bool]:
    """(path, given): OPSBOT_CONFIG when set (then it must exist), else ./opsbot.toml."""
    raw = (os.environ if env is None else env).get("OPSBOT_CONFIG", "").strip()
    return (Path(raw), True) if raw else (DEFAULT_PATH, False)


def load(path: Path | None = None, *, required: bool = False) -> FileSettings:
    """Parse the config file; a missing optional file is empty settings."""
    if path is None:
        path, required = config_path()
    if not path.is_file():
        if required:
            raise ConfigError(f"OPSBOT_CONFIG: {str(path)!r} is not a file")
        return FileSettings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: not valid TOML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path.name}: cannot be read ({exc})") from None
    return parse(data, origin=path.name, path=path)


def parse(
    data: Mapping[str, Any], *, origin: str = "opsbot.toml", path: Path | None = None
) -> FileSettings:
    """The file's tables, checked; `origin` starts every error message."""
    unknown = sorted(set(data) - {"source", "channel"})
    if unknown:
        expected = "expected [[source]] or [[channel]]"
        raise ConfigError(f"{origin}: unknown key {unknown[0]!r} ({expected})")
    sources = tuple(
        _source(entry, f"{origin}: source[{i}]")
        for i, entry in enumerate(_tables(data, "source", origin), start=1)
    )
    names = [s.name for s in sources]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(f"{origin}: source[{i + 1}].name {name!r} is used twice")
    channels: dict[str, ChannelSettings] = {}
    for i, entry in enumerate(_tables(data, "channel", origin), start=1):
        channel = _channel(entry, f"{origin}: channel[{i}]")
        if channel.id in channels:
            raise ConfigError(f"{origin}: channel[{i}].id {channel.id!r} is listed twice")
        channels[channel.id] = channel
    return FileSettings(sources, channels, path)


def check_sources(file: FileSettings, known: Sequence[str]) -> None:
    """Every channel's `sources` must name a source that exists (after merging flags)."""
    origin = file.path.name if file.path else "opsbot.toml"
    for i, channel in enumerate(file.channels.values(), start=1):
        for name in channel.sources:
            if name not in known:
                listed = ", ".join(known) or "none"
                raise ConfigError(
                    f"{origin}: channel[{i}].sources: no source is named {name!r} "
                    f"(sources: {listed})"
                )


def _tables(data: Mapping[str, Any], key: str, origin: str) -> list[Mapping[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"{origin}: {key} must be an array of tables ([[{key}]])")
    return value


def _string(entry: Mapping[str, Any], key: str, where: str, default: str = "") -> str:
    value = entry.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{where}.{key} must be a string, got {value!r}")
    return value.strip()


def _ids(
    entry: Mapping[str, Any], key: str, where: str, pattern: re.Pattern[str]
) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}.{key} must be a list of strings, got {value!r}")
    for item in value:
        if not pattern.match(item.strip()):
            raise ConfigError(f"{where}.{key}: {item!r} is not a valid id")
    return tuple(dict.fromkeys(v.strip() for v in value))


def _unknown(entry: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(entry) - allowed)
    if extra:
        expected = ", ".join(sorted(allowed))
        raise ConfigError(f"{where}: unknown key {extra[0]!r} (expected {expected})")


def _source(entry: Mapping[str, Any], where: str) -> SourceSpec:
    _unknown(entry, _SOURCE_KEYS, where)
    name = _string(entry, "name", where)
    path, uri = _string(entry, "path", where), _string(entry, "uri", where)
    if bool(path) == bool(uri):
        raise ConfigError(f"{where} needs exactly one of path or uri")
    if path and "://" in path:
        raise ConfigError(f"{where}.path must be a folder; put URLs in uri")
    if uri and "://" not in uri:
        raise ConfigError(f"{where}.uri must be a git+… or http(s):// URL; put folders in path")
    spec = parse_source(f"{name}={path or uri}" if name else path or uri, origin=where)
    url = _string(entry, "url", where)
    if url and not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}.url must start with http:// or https://, got {url!r}")
    allow = _ids(entry, "allow", where, _SLACK_ID)
    return replace(spec, allow=allow, base_url=url or spec.base_url)


def _channel(entry: Mapping[str, Any], where: str) -> ChannelSettings:
    _unknown(entry, _CHANNEL_KEYS, where)
    channel_id = _string(entry, "id", where)
    if not _SLACK_ID.match(channel_id):
        raise ConfigError(f"{where}.id must be a Slack channel id such as 'C0123ABCD'")
    respond = _string(entry, "respond", where, "mention")
    if respond not in RESPONDS:
        allowed = ", ".join(repr(r) for r in RESPONDS)
        raise ConfigError(f"{where}.respond must be {allowed}, got {respond!r}")
    sources = entry.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) and s for s in sources):
        raise ConfigError(f"{where}.sources must be a list of source names, got {sources!r}")
    escalate = _string(entry, "escalate", where)
    if escalate and not _GROUP_ID.match(escalate):
        raise ConfigError(f"{where}.escalate must be a user group id such as 'S0123ABCD'")
    return ChannelSettings(channel_id, respond, tuple(dict.fromkeys(sources)), escalate)


class LiveConfig:
    """The config file as last read successfully; `refresh` re-reads it when it changed."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        required: bool | None = None,
        check: Callable[[FileSettings], None] | None = None,
    ) -> None:
        default_path, given = config_path()
        self.path = path or default_path
        self.required = given if required is None else required
        self.check = check  # more rules, e.g. channel sources that must exist
        self._stamp: tuple[float, int] | None = self._stat()
        self._lock = threading.Lock()
        self.current = self._load()  # a bad file fails the start
        self.error = ""

    def _load(self) -> FileSettings:
        fresh = load(self.path, required=self.required)
        if self.check is not None:
            self.check(fresh)
        return fresh

    def _stat(self) -> tuple[float, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime, st.st_size

    def refresh(self) -> bool:
        """Re-read a changed file; True when new settings were taken. A bad file logs one
        line and the last good settings stay."""
        with self._lock:
            stamp = self._stat()
            if stamp == self._stamp:
                return False
            self._stamp = stamp
            try:
                fresh = self._load()
            except ConfigError as exc:
                self.error = str(exc)
                log.error("config not reloaded, keeping the last good one: %s", exc)
                return False
            self.error = ""
            self.current = fresh
            log.info("config reloaded from %s", self.path)
            return True
