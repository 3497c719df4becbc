"""What each source holds and how its last sync went: for `opsbot sources`, /healthz, `ask`
and the App Home. Reads only what syncs recorded and the live build's manifest: no network,
no model.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, replace
from typing import Any

from bot.config import Settings
from bot.index.manifest import IndexLoadError, Manifest
from bot.sources.base import SourceState
from bot.sources.spec import SourceSpec, source_of
from bot.sources.state import load_state


def live_manifest(settings: Settings) -> Manifest | None:
    """The active build's manifest, in INDEX_DIR or the shared index (INDEX_URL)."""
    from bot.index.store import IndexUnavailableError, open_store

    try:
        store = open_store(settings)
    except IndexUnavailableError:
        return None
    try:
        return store.active_manifest()
    except (IndexLoadError, IndexUnavailableError):
        return None
    finally:
        store.close()


def source_status(
    settings: Settings,
    specs: tuple[SourceSpec, ...] | None = None,
    manifest: Manifest | None = None,
) -> list[SourceState]:
    """Each declared source's last sync, with `documents` counted in the live build (what
    answers can actually cite), so a source whose files all failed to parse shows 0."""
    if specs is None:
        from bot.config import ConfigError
        from bot.sources.registry import file_sources

        try:
            specs = tuple(settings.source_specs(file_sources()))
        except ConfigError:  # a bad opsbot.toml is reported where it is read, not here
            specs = tuple(settings.source_specs())
    manifest = manifest if manifest is not None else live_manifest(settings)
    names = [spec.name for spec in specs]
    indexed: Counter[str] = Counter()
    if manifest is not None:
        indexed.update(source_of(path, names) for path in manifest.documents)
    states = []
    for spec in specs:
        state = load_state(settings, spec.name) or SourceState(spec.name, spec.kind, spec.display)
        states.append(replace(state, kind=spec.kind, documents=indexed[spec.name]))
    return states


def empty_sources(states: list[SourceState]) -> list[str]:
    return [state.name for state in states if state.documents == 0]


def empty_warning(states: list[SourceState]) -> str:
    """The stderr line `ask` prints when knowledge is missing ('' when all is well)."""
    empty = empty_sources(states)
    if not states or len(empty) == len(states):
        return "warning: knowledge is empty (0 documents indexed): every question will be declined"
    if empty:
        listed = ", ".join(repr(name) for name in empty)
        return f"warning: knowledge is empty for source {listed}: it has 0 documents"
    return ""


def health_entries(states: list[SourceState]) -> list[dict[str, Any]]:
    """/healthz's `sources`: each state plus whether it is healthy."""
    return [{**asdict(state), "healthy": state.healthy} for state in states]


def status_lines(states: list[SourceState]) -> list[str]:
    """`opsbot sources` as a table."""
    rows = [("KIND", "NAME", "LAST SYNC", "REVISION", "DOCUMENTS", "ERROR")]
    for state in states:
        synced = (
            time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(state.synced_at))
            if state.synced_at
            else "never"
        )
        revision = state.revision[:12] if state.kind == "git" else state.revision
        rows.append(
            (state.kind, state.name, synced, revision or "-", str(state.documents), state.error)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:5], widths, strict=True))
        + ("  " + row[5] if row[5] else "")
        for row in rows
    ]
