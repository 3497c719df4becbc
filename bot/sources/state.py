"""Each source's last sync, kept under DATA_DIR so every process sees it.

`ingest`, a server's reload and `ask` sync sources; `opsbot sources`, /healthz and the App
Home only read what the last sync recorded. The state holds no credential (locations are
`SourceSpec.display`, errors are scrubbed before they get here).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict
from pathlib import Path

from bot.config import Settings
from bot.sources.base import SourceState


def source_dir(settings: Settings, name: str) -> Path:
    """Where a source keeps its copy and its state: DATA_DIR/sources/<name>."""
    return settings.data_dir / "sources" / name


def load_state(settings: Settings, name: str) -> SourceState | None:
    """The recorded state of a source, or None when it never synced (or the file is bad)."""
    path = source_dir(settings, name) / "state.json"
    try:
        raw = json.loads(path.read_text("utf-8"))
        return SourceState(**raw)
    except (OSError, ValueError, TypeError):
        return None


def save_state(settings: Settings, state: SourceState) -> None:
    """Record a sync atomically; a read-only DATA_DIR only loses the record, not the sync."""
    directory = source_dir(settings, state.name)
    temporary = directory / f".state.{os.getpid()}.json"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps(asdict(state)), "utf-8")
        os.replace(temporary, directory / "state.json")
    except OSError:  # a full disk leaves no partial file behind
        with contextlib.suppress(OSError):
            temporary.unlink()
