"""Which module opens each source kind, and the declared sources gathered into one listing.

Adding a kind is one row in `KINDS` (its module implements `bot.sources.base.Source`).
With several sources a document's path is `<source name>/<path>`; with one it stays
relative to that source, as it always was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bot.config import ConfigError, Settings
from bot.ingest.loaders import SkippedFile, SourceFile
from bot.sources.base import Source, SourceError, SourceState
from bot.sources.folder import FolderSource
from bot.sources.git import GitSource
from bot.sources.site import SiteSource
from bot.sources.spec import SourceSpec, check_names

log = logging.getLogger(__name__)
Opener = Callable[[SourceSpec, Settings, Sequence[SourceSpec]], Source]
KINDS: dict[str, Opener] = {
    "folder": FolderSource,
    "git": GitSource,
    "site": lambda spec, settings, _peers: SiteSource(spec, settings),
}


def open_source(spec: SourceSpec, settings: Settings, peers: Sequence[SourceSpec] = ()) -> Source:
    """The source for one spec (no network work: that is `sync`). `peers` are all the
    declared sources, this one included."""
    opener = KINDS.get(spec.kind)
    if opener is None:
        raise ConfigError(f"source {spec.name!r}: {spec.kind} sources are not available")
    return opener(spec, settings, tuple(peers) or (spec,))


def file_sources() -> tuple[SourceSpec, ...]:
    """The `[[source]]` entries of opsbot.toml (OPSBOT_CONFIG); none without the file."""
    from bot.settings_file import load

    return tuple(load().sources)


def declared_specs(
    settings: Settings, from_file: Sequence[SourceSpec] | None = None
) -> tuple[SourceSpec, ...]:
    """Every declared source (flags, environment and opsbot.toml), checked: at least one,
    folders exist, names usable as path prefixes. A problem is a one-line ConfigError."""
    from_file = file_sources() if from_file is None else from_file
    specs = check_names(settings.source_specs(from_file))
    if not specs:
        raise ConfigError(
            "no knowledge source: give --knowledge-dir, --source or KNOWLEDGE_SOURCES"
        )
    for spec in specs:
        if spec.kind == "folder" and not Path(spec.location).expanduser().is_dir():
            raise ConfigError(f"KNOWLEDGE_DIR {spec.location!r} is not a directory")
    return specs


def open_sources(settings: Settings, specs: Sequence[SourceSpec] | None = None) -> list[Source]:
    specs = tuple(specs) if specs is not None else declared_specs(settings)
    return [open_source(spec, settings, specs) for spec in specs]


@dataclass
class Gathered:
    """Every source's files after a sync, with paths as stored in the index."""

    files: list[SourceFile]
    skipped: list[SkippedFile]
    states: list[SourceState]


def gather(sources: Sequence[Source], *, sync: bool = True) -> Gathered:
    """Sync each source (a failure keeps its last good copy) and list them together. A
    source that failed and has no good copy yet stops the ingest with its one-line error."""
    several = len(sources) > 1
    files: list[SourceFile] = []
    skipped: list[SkippedFile] = []
    states: list[SourceState] = []
    for source in sources:
        state = source.sync() if sync else source.state()
        listing = source.listing()
        if state.error and not state.synced_at:
            raise SourceError(f"source {source.spec.name!r}: {state.error}")
        if state.error:
            log.warning(
                "source %r: %s; using its last good copy (%s)",
                source.spec.name,
                state.error,
                state.revision[:12] or "none",
            )
        prefix = source.spec.name + "/" if several else ""
        files += [replace(f, path=prefix + f.path) for f in listing.files]
        skipped += [replace(s, path=prefix + s.path) for s in listing.skipped]
        states.append(state)
    return Gathered(
        sorted(files, key=lambda f: f.path), sorted(skipped, key=lambda s: s.path), states
    )
