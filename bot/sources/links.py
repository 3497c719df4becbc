"""Answer-time links: a stored path and the section that answered → that section's web URL.

The build's manifest records its sources, so a path is mapped back to its source and the
source builds the URL (a folder's base URL, a git host's page at the synced commit, a
site's page). Nothing here touches the network.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.config import ConfigError, Settings
from bot.ingest.urls import document_url
from bot.sources.anchors import github_slug
from bot.sources.base import Source
from bot.sources.folder import FolderSource
from bot.sources.registry import open_source
from bot.sources.spec import SourceSpec, source_of

log = logging.getLogger(__name__)


def spec_of(record: dict) -> SourceSpec:
    """A manifest entry back as a spec (its location carries no credential: links need none)."""
    return SourceSpec(
        name=str(record["name"]),
        kind=record["kind"],
        location=str(record.get("location", "")),
        ref=str(record.get("ref", "")),
        subdirectory=str(record.get("subdirectory", "")),
        base_url=str(record.get("base_url", "")),
    )


class Links:
    """Web URLs for one index build's documents."""

    def __init__(self, settings: Settings, records: Sequence[dict]) -> None:
        try:
            specs = [spec_of(r) for r in records] or list(settings.source_specs())
            self._sources: dict[str, Source] = {
                spec.name: open_source(spec, settings, specs) for spec in specs
            }
        except (ConfigError, KeyError, TypeError) as exc:  # an old or odd manifest: no links
            log.warning("no links for this index: %s", exc)
            self._sources = {}
        self._names = list(self._sources)

    def url(self, path: str, heading: str = "", own: str | None = None) -> str | None:
        """`heading` is the section's own heading ('' for the document's top); `own` is the
        chunk's URL as the document gave it: absolute (a site page, front matter `url`), or
        a route on its docs site (front matter `slug`), either with the page's heading id."""
        if own and "://" in own:
            return own
        name = source_of(path, self._names) if self._names else ""
        source = self._sources.get(name)
        if source is None:
            return None
        inner = path if len(self._names) == 1 else path.partition("/")[2]
        route, _, anchor = (own or "").partition("#")
        if len(self._names) > 1 and route.startswith(name + "/"):
            route = route[len(name) + 1 :]  # made from the stored, prefixed path
        anchor = anchor or (github_slug(heading) if heading else "")
        if route and isinstance(source, FolderSource):  # a docs-as-code route under its base
            routed = document_url(source.base_url() or "", inner, f"{route}#{anchor}".rstrip("#"))
            if routed:
                return routed
        return source.url_for(inner, anchor)
