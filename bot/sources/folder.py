"""A knowledge folder on this machine: today's source, read where it lies.

Symlinks may point into any declared folder (bot.ingest.paths). Links are the folder's
base URL (its `base_url`, else its KNOWLEDGE_URLS entry) plus the file's path, with the
section's anchor when that base is on a git host.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from bot.config import Settings
from bot.ingest.loaders import discover
from bot.sources.anchors import fragment
from bot.sources.base import Listing, SourceState
from bot.sources.spec import SourceSpec
from bot.sources.state import load_state, save_state


class FolderSource:
    """A folder: `sync` lists it afresh (hashes only), nothing is copied."""

    def __init__(
        self, spec: SourceSpec, settings: Settings, peers: Sequence[SourceSpec] = ()
    ) -> None:
        self.spec = spec
        self.settings = settings
        self.root = Path(spec.location).expanduser()
        folders = [Path(p.location).expanduser() for p in peers if p.kind == "folder"]
        self._link_roots = folders or [self.root]
        self._several = len(peers) > 1
        self._listing = Listing(())
        self._state = load_state(settings, spec.name) or SourceState(
            spec.name, "folder", spec.display
        )

    def sync(self) -> SourceState:
        started = time.time()
        if not self.root.is_dir():
            error = f"{str(self.root)!r} is not a directory"
            self._state = SourceState(self.spec.name, "folder", self.spec.display, error=error)
        else:
            files, skipped = discover(
                self.root,
                self.settings.max_file_bytes,
                roots=self._link_roots,
                outside_links=self.settings.knowledge_outside_links,
            )
            self._listing = Listing(tuple(files), tuple(skipped))
            self._state = SourceState(
                self.spec.name,
                "folder",
                self.spec.display,
                synced_at=started,
                revision=f"{len(files)} files",
                documents=len(files),
            )
        save_state(self.settings, self._state)
        return self._state

    def listing(self) -> Listing:
        return self._listing

    def state(self) -> SourceState:
        return self._state

    def base_url(self) -> str:
        """The source's own base URL, else its KNOWLEDGE_URLS entry (by folder name; an
        entry without a name serves a lone folder). Read now: a change needs no re-ingest."""
        if self.spec.base_url:
            return self.spec.base_url
        bases = dict(self.settings.knowledge_urls)
        return bases.get(self.spec.name) or ("" if self._several else bases.get("", ""))

    def url_for(self, path: str, anchor: str = "") -> str | None:
        base = self.base_url()
        if not base or not path:
            return None
        url = base.rstrip("/") + "/" + quote(path)
        return url + fragment(base, path, anchor)
