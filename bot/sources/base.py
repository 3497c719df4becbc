"""The knowledge-source seam: what every source kind (folder, git, site) implements.

A source brings its documents onto this machine (a folder already is; a git source checks
out the synced commit under DATA_DIR; a site source keeps the extracted pages there), then
lists them as `SourceFile`s with stable paths, content hashes and web URLs. Ingest, live
reload and the embedding cache only see that list, so an unchanged source is never
re-embedded, and a new kind is one module implementing `Source` plus its tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from bot.errors import OpsbotError
from bot.ingest.loaders import SkippedFile, SourceFile
from bot.sources.spec import SourceSpec


class SourceError(OpsbotError):
    """A sync failed (server gone, wrong password, bad ref): one line, no credentials."""


@dataclass(frozen=True)
class Listing:
    """What a source holds after a sync: readable files, and the ones it had to skip."""

    files: tuple[SourceFile, ...]
    skipped: tuple[SkippedFile, ...] = ()
    urls: dict[str, str] = field(default_factory=dict)  # path -> web URL of the document


@dataclass(frozen=True)
class SourceState:
    """What `opsbot sources`, /healthz and the App Home show about one source."""

    name: str
    kind: str
    location: str  # SourceSpec.display: never a credential
    synced_at: float | None = None  # epoch seconds of the last good sync
    revision: str = ""  # a commit, or "412 pages"
    documents: int = 0
    error: str = ""  # the last sync's failure, '' when it succeeded

    @property
    def healthy(self) -> bool:
        return not self.error and self.documents > 0


class Source(Protocol):
    """One declared source. `sync` may do network work; `listing` and `url_for` must not."""

    spec: SourceSpec

    def sync(self) -> SourceState:
        """Fetch what changed (git fetch, conditional GETs). On failure keep the last good
        copy, and report the error in the state instead of raising."""
        ...

    def listing(self) -> Listing:
        """The documents of the last good sync (paths relative to the source)."""
        ...

    def url_for(self, path: str, anchor: str = "") -> str | None:
        """The web URL of a document, pointing at `anchor` (a heading id) when given."""
        ...

    def state(self) -> SourceState:
        """The state after the last sync, without doing any work."""
        ...
