"""KNOWLEDGE_URLS: base URLs for folder sources (bot/sources/folder.py builds the links).

KNOWLEDGE_URLS maps knowledge roots to base URLs, so a docs folder checked out from a
git repository links to its pages:

    KNOWLEDGE_URLS=https://github.com/org/repo/blob/main/docs/            (one root)
    KNOWLEDGE_URLS="docs=https://github.com/org/repo/blob/main/docs/ handbook=https://…"

With several roots a source path is `<root folder name>/<path inside it>`, and the key
is that folder name. Derived at answer time, so changing the setting needs no re-ingest.

A docs-as-code page may name its own route (front matter `slug`, `id`, a relative `url`;
bot/ingest/docs_as_code.py). Against a docs-site base URL the link follows that route;
against a repository's file view (`/blob/`, `/src/`) the file's path is what exists.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote, urljoin

from bot.config import ConfigError
from bot.observability.urls import safe_url

log = logging.getLogger(__name__)

_URL_RE = re.compile(r"^https?://\S+$", re.IGNORECASE)
_FILE_VIEW = re.compile(r"/(?:-/)?(?:blob|tree|src|raw)/")  # GitHub, GitLab, Gitea, Bitbucket


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


def document_url(base: str, inner: str, own: str | None = None) -> str | None:
    """A document's web URL: its own absolute URL, else its route or its path under `base`
    (`inner` is the path inside the root; `own` may carry a `#heading-id`)."""
    if own and "://" in own:
        return own
    route, _, anchor = (own or "").partition("#")
    if not base or not (inner or route):
        return None
    if route and not _FILE_VIEW.search(base):
        url = urljoin(base, quote(route, safe="/:.~"))
    else:
        url = base + quote(inner)
    return f"{url}#{anchor}" if anchor else url


def without_credentials(url: str) -> str:
    """The base URL without `user:password@`: every source link shown in Slack starts
    with it, so credentials there would reach every reader (a warning says so)."""
    from bot.sources.spec import without_credentials as stripped

    clean = stripped(url)
    if clean != url:
        log.warning(
            "KNOWLEDGE_URLS: credentials removed from %s (links are shown to users)",
            safe_url(url),
        )
    return clean
