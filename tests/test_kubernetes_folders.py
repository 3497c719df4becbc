"""Knowledge mounted from a ConfigMap or Secret: the kubelet's atomic-writer layout."""

from __future__ import annotations

import os
from pathlib import Path

from bot.config import Settings
from bot.ingest import paths
from bot.ingest.loaders import discover
from bot.sources.registry import gather, open_sources

PAYLOAD = "..2024_01_01_00_00_00.123456789"


def kubelet_volume(mount: Path, files: dict[str, str]) -> None:
    """Lay out `files` as the kubelet does: a timestamped payload folder, `..data` linking
    to it, and each top-level key linking into `..data/` (a nested key's folder too)."""
    payload = mount / PAYLOAD
    for name, text in files.items():
        target = payload / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    os.symlink(PAYLOAD, mount / "..data")
    for top in sorted({name.split("/")[0] for name in files}):
        os.symlink(f"..data/{top}", mount / top)


def test_configmap_volume_is_read_once_and_escapes_are_refused(tmp_path):
    mount = tmp_path / "knowledge"
    mount.mkdir()
    kubelet_volume(
        mount,
        {
            "runbook.md": "# Runbook\n\nRestart with care.\n",
            "guide/deploy.md": "# Deploy\n\nUse the pipeline.\n",
            ".env.md": "# Hidden\n\nTOKEN=x\n",
        },
    )
    (tmp_path / "outside.md").write_text("# Outside\n\nnot knowledge\n")
    os.symlink("../outside.md", mount / "escape.md")
    os.symlink("..data/.env.md", mount / "looks-fine.md")

    files, skipped = discover(mount, 1_000_000)

    assert [f.path for f in files] == ["guide/deploy.md", "runbook.md"]  # once, not via ..data
    assert all(PAYLOAD in str(f.abspath.resolve()) for f in files)
    reasons = {s.path: s.reason for s in skipped}
    assert reasons == {"escape.md": paths.OUTSIDE, "looks-fine.md": paths.HIDDEN}


def test_a_secret_volume_updated_in_place_is_listed_through_the_source(tmp_path):
    mount = tmp_path / "secret-docs"
    mount.mkdir()
    kubelet_volume(mount, {"access.md": "# Access\n\nAsk #platform for a role.\n"})
    settings = Settings(knowledge_dirs=(mount,), data_dir=tmp_path / "data")
    first = gather(open_sources(settings))
    # the kubelet's update: a new payload folder, then `..data` swapped to it
    newer = mount / "..2024_01_02_00_00_00.000000001"
    newer.mkdir()
    (newer / "access.md").write_text("# Access\n\nAsk #sre for a role.\n")
    os.symlink(newer.name, mount / "..data_tmp")
    os.replace(mount / "..data_tmp", mount / "..data")
    second = gather(open_sources(settings))
    assert [f.path for f in first.files] == [f.path for f in second.files] == ["access.md"]
    assert first.files[0].sha256 != second.files[0].sha256
    assert second.states[0].documents == 1 and not second.states[0].error
