"""KNOWLEDGE_URLS: base URLs for folder sources (bot/sources/folder.py builds the links).

KNOWLEDGE_URLS maps knowledge roots to base URLs, so a docs folder checked out from a
git repository links to its pages:

    KNOWLEDGE_URLS=https://github.com/org/repo/blob/main/docs/            (one root)
    KNOWLEDGE_URLS="docs=https://github.com/org/repo/blob/main/docs/ handbook=https://…"

With several roots a source path is `<root folder name>/<path inside it>`, and the key
is that folder name. Derived at answer time, so changing the setting needs no re-ingest.
"""

from __future__ import annotations

import re

from bot.config import ConfigError

_URL_RE = re.compile(r"^https?://\S+$", re.IGNORECASE)


def parse_knowledge_urls(raw: str) -> tuple[tuple[str, str], ...]:
    """'[root=]base …' (spaces or commas between entries) → ((root or '', base), …)."""
    pairs: list[tuple[str, str]] = []
    for item in re.split(r"[\s,]+", raw.strip()):
        if not item:
            continue
        root, _, base = item.rpartition("=") if not _URL_RE.match(item) else ("", "", item)
        if not _URL_RE.match(base):
            raise ConfigError(f"KNOWLEDGE_URLS entry {item!r} is not [root=]http(s)://base-url")
        pairs.append((root, base if base.endswith("/") else base + "/"))
    return tuple(pairs)
