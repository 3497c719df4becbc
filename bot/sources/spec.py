"""A named knowledge source, declared once: by a flag, the environment or `opsbot.toml`.

One idea serves ingest (what to read), answers (paths are `<source name>/<path>` when there
are several sources) and access (a channel's `sources`, a source's `allow`). A SPEC is:

    /srv/kb/runbooks                                  a folder
    git+https://host/org/repo.git[@ref][#subdirectory=docs]   a git repository (pip's VCS form;
                                                      https, http, ssh, git or file clone URLs)
    https://docs.example.com/guide/                   a docs website, crawled under that prefix

and `NAME=SPEC` names it; otherwise the name comes from the folder, the repository or the host.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from bot.config import ConfigError

SourceKind = Literal["folder", "git", "site"]
GIT_SCHEMES = ("https", "http", "ssh", "git", "file")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_NAMED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]{0,63})=(.+)$", re.DOTALL)


@dataclass(frozen=True)
class SourceSpec:
    """Where a source's documents come from, what it is called, and who may see it."""

    name: str
    kind: SourceKind
    location: str  # folder path, git clone URL (credentials included) or site URL
    ref: str = ""  # git: branch, tag or commit; '' is the remote's default branch
    subdirectory: str = ""  # git: index only this folder of the repository
    base_url: str = ""  # where its files are on the web, for links ('' = derive or none)
    allow: tuple[str, ...] = ()  # channel and user-group ids that may see it; () = everyone
    named: bool = False  # the name was given (NAME=SPEC or config), not derived

    @property
    def key(self) -> str:
        """Identity for matching a config-file entry to a flag: same folder or same URL."""
        if self.kind == "folder":
            return str(Path(self.location).expanduser().resolve())
        return f"{self.kind}:{self.location.rstrip('/')}@{self.ref}#{self.subdirectory}"

    @property
    def display(self) -> str:
        """The location as it may be shown: never a password or token."""
        if self.kind == "folder":
            return self.location
        return without_credentials(self.location)


def without_credentials(url: str) -> str:
    """`https://user:token@host/x` → `https://host/x` (also for `user@host` ssh forms)."""
    parts = urlsplit(url)
    if not parts.netloc or "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host))


def default_name(kind: SourceKind, location: str, subdirectory: str = "") -> str:
    """A readable name: the folder's name, the repository's name, or the site's host."""
    if kind == "folder":
        raw = Path(location).expanduser().resolve().name
    elif kind == "git":
        path = urlsplit(location).path.rstrip("/")
        raw = path.rpartition("/")[2] or path.rpartition(":")[2]
        raw = raw.removesuffix(".git")
    else:
        raw = (urlsplit(location).hostname or "").removeprefix("www.")
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", raw).strip("-.") or kind
    return cleaned[:64]


def _split_git(raw: str, origin: str) -> tuple[str, str, str]:
    """`git+URL[@ref][#subdirectory=dir]` → (clone URL, ref, subdirectory)."""
    body, _, fragment = raw[len("git+") :].partition("#")
    subdirectory = ""
    for item in filter(None, fragment.split("&")):
        key, _, value = item.partition("=")
        if key != "subdirectory" or not value:
            raise ConfigError(f"{origin}: unknown fragment {item!r} (only #subdirectory=DIR)")
        subdirectory = value.strip("/")
    parts = urlsplit(body)
    if parts.scheme not in GIT_SCHEMES:
        allowed = ", ".join(GIT_SCHEMES)
        raise ConfigError(f"{origin}: git clone URL must use {allowed}, got {body!r}")
    ref = ""
    if "@" in parts.path:  # the '@' of a ref sits in the path; a user's '@' in the netloc
        path, _, ref = parts.path.rpartition("@")
        body = urlunsplit(parts._replace(path=path))
    if not urlsplit(body).path.strip("/") and parts.scheme != "file":
        raise ConfigError(f"{origin}: {without_credentials(body)!r} names no repository")
    if ".." in Path(subdirectory).parts or subdirectory.startswith("/"):
        raise ConfigError(f"{origin}: subdirectory {subdirectory!r} must stay in the repository")
    return body, ref, subdirectory


def parse_source(raw: str, *, origin: str = "--source") -> SourceSpec:
    """One SPEC, optionally `NAME=SPEC`; a malformed one is a one-line ConfigError."""
    text = raw.strip()
    if not text:
        raise ConfigError(f"{origin}: empty source")
    name = ""
    match = _NAMED.match(text)
    if match and ":" not in match.group(1) and "/" not in match.group(1):
        name, text = match.group(1), match.group(2).strip()
    lowered = text.lower()
    if lowered.startswith("git+"):
        location, ref, sub = _split_git(text, origin)
        spec = SourceSpec("", "git", location, ref=ref, subdirectory=sub)
    elif lowered.startswith(("http://", "https://")):
        if not urlsplit(text).hostname:
            raise ConfigError(f"{origin}: {without_credentials(text)!r} has no host")
        spec = SourceSpec("", "site", text)
    elif re.match(r"^[a-z][a-z0-9+.-]*://", lowered):
        scheme = lowered.partition(":")[0]
        raise ConfigError(
            f"{origin}: {scheme}:// is not a source; use a folder, git+URL or http(s)://"
        )
    else:
        spec = SourceSpec("", "folder", text)
    return replace(
        spec,
        name=name or default_name(spec.kind, spec.location, spec.subdirectory),
        named=bool(name),
    )


def parse_sources(raw: str, *, origin: str = "KNOWLEDGE_SOURCES") -> tuple[SourceSpec, ...]:
    """A whitespace-separated list of SPECs (KNOWLEDGE_SOURCES)."""
    return tuple(parse_source(item, origin=origin) for item in raw.split())


def merge(given: Sequence[SourceSpec], from_file: Iterable[SourceSpec]) -> tuple[SourceSpec, ...]:
    """Sources from flags and environment, plus the config file's. A file entry for a source
    already given adds only its settings (its name, `allow`, base URL); others are added."""
    merged = list(given)
    by_key = {spec.key: i for i, spec in enumerate(merged)}
    for spec in from_file:
        at = by_key.get(spec.key)
        if at is None:
            by_key[spec.key] = len(merged)
            merged.append(spec)
            continue
        old = merged[at]
        merged[at] = replace(
            old,
            name=spec.name if spec.named else old.name,
            named=old.named or spec.named,
            allow=spec.allow or old.allow,
            base_url=spec.base_url or old.base_url,
        )
    return check_names(merged)


def check_names(specs: Sequence[SourceSpec]) -> tuple[SourceSpec, ...]:
    """Names prefix document paths, so with several sources they must be distinct and valid."""
    seen: dict[str, SourceSpec] = {}
    for spec in specs:
        if not _NAME.match(spec.name):
            raise ConfigError(
                f"source name {spec.name!r} must be 1-64 letters, digits, '.', '_' or '-'"
            )
        if spec.name in seen and len(specs) > 1:
            first = seen[spec.name]
            raise ConfigError(
                f"sources {first.display!r} and {spec.display!r} are both named {spec.name!r}; "
                "name one with NAME=SPEC"
            )
        seen[spec.name] = spec
    return tuple(specs)


def source_of(path: str, names: Sequence[str]) -> str:
    """The name of the source a stored document path belongs to (paths start with the source
    name when there are several sources; with one, every path is that source's)."""
    if len(names) == 1:
        return names[0]
    head = path.partition("/")[0]
    return head if head in names else ""
