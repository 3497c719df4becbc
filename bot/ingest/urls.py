"""Where a source can be read on the web: front matter `url:`, else a per-root base URL.

KNOWLEDGE_URLS maps knowledge roots to base URLs, so a docs folder checked out from a
git repository links to its pages:

    KNOWLEDGE_URLS=https://github.com/org/repo/blob/main/docs/            (one root)
    KNOWLEDGE_URLS="docs=https://github.com/org/repo/blob/main/docs/ handbook=https://…"

With several roots a source path is `<root folder name>/<path inside it>`, and the key
is that folder name. Derived at answer time, so changing the setting needs no re-ingest.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import quote

from bot.config import ConfigError
from bot.observability.urls import safe_url

log = logging.getLogger(__name__)

_URL_RE = re.compile(r"^https?://\S+$", re.IGNORECASE)


def parse_knowledge_urls(raw: str) -> tuple[tuple[str, str], ...]:
    """'[root=]base …' (spaces or commas between entries) → ((root or '', base), …)."""
    pairs: list[tuple[str, str]] = []
    for item in re.split(r"[\s,]+", raw.strip()):
        if not item:
            continue
        root, _, base = item.rpartition("=") if not _URL_RE.match(item) else ("", "", item)
        if not _URL_RE.match(base):
            shown = f"{root}={safe_url(base)}" if root else safe_url(item)
            raise ConfigError(f"KNOWLEDGE_URLS entry {shown!r} is not [root=]http(s)://base-url")
        base = without_credentials(base)
        pairs.append((root, base if base.endswith("/") else base + "/"))
    return tuple(pairs)


def without_credentials(url: str) -> str:
    """The base URL without `user:password@`: every source link shown in Slack starts
    with it, so credentials there would reach every reader (a warning says so)."""
    scheme, sep, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    if "@" not in netloc:
        return url
    log.warning(
        "KNOWLEDGE_URLS: credentials removed from %s (links are shown to users)", safe_url(url)
    )
    return f"{scheme}{sep}{netloc.rpartition('@')[2]}{slash}{path}"


def url_resolver(
    roots: Sequence[Path], urls: Sequence[tuple[str, str]]
) -> Callable[[str], str | None]:
    """path (as stored in the index) → URL, or None when no base URL covers its root."""
    bases = dict(urls)
    several = len(roots) > 1
    single = roots[0].resolve().name if roots else ""

    def resolve(path: str) -> str | None:
        if several:
            root, _, inner = path.partition("/")
        else:
            root, inner = single, path
        base = bases.get(root) or (bases.get("") if not several else None)
        return base + quote(inner) if base and inner else None

    return resolve
