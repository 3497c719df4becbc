"""Several sources through the seam: a folder and a git repository in one index, paths
prefixed by source name, the manifest naming each source, links at the answering section."""

from __future__ import annotations

import json

from click.testing import CliRunner
from gitservers import Repo

from bot import cli as cli_module
from bot.index import builds
from bot.sources.spec import source_of


def test_folder_and_git_sources_in_one_index_with_deep_links(tmp_path, monkeypatch):
    folder = tmp_path / "handbook"
    folder.mkdir()
    (folder / "oncall.md").write_text(
        "# On-call handbook\n\n## Escalation policy\n\n"
        "Page the secondary on-call engineer after fifteen minutes without acknowledgement.\n"
    )
    repo = Repo(
        tmp_path / "git",
        {"docs/deploy.md": "# Deploying\n\n## Canary\n\nCanary releases start at 5% of pods.\n"},
    )
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KNOWLEDGE_URLS", "kb=https://github.com/acme/handbook/blob/main/")
    flags = [
        "--source", f"kb={folder}",
        "--source", f"git+file://{repo.bare}#subdirectory=docs",
        "--index-dir", str(tmp_path / "index"),
    ]  # fmt: skip
    runner = CliRunner()
    done = runner.invoke(cli_module.cli, ["ingest", *flags], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    manifest = builds.read_manifest(tmp_path / "index")
    assert manifest is not None
    names = [s["name"] for s in manifest.sources]
    assert names == ["kb", "docs"] and [s["kind"] for s in manifest.sources] == ["folder", "git"]
    assert set(manifest.files) == {"kb/oncall.md", "docs/deploy.md"}
    assert {source_of(p, names) for p in manifest.files} == {"kb", "docs"}

    question = "When do I page the secondary on-call engineer?"
    asked = runner.invoke(cli_module.cli, ["ask", "--json", *flags, question])
    assert asked.exit_code == 0, asked.output
    sources = json.loads(asked.stdout)["sources"]
    assert all("url" in s for s in sources)
    by_path = {s["path"]: s["url"] for s in sources}
    assert by_path["kb/oncall.md"] == (
        "https://github.com/acme/handbook/blob/main/oncall.md#escalation-policy"
    )
    assert by_path.get("docs/deploy.md") is None  # a file:// repository has no web page

    listed = runner.invoke(cli_module.cli, ["sources", "--json", *flags])
    states = {s["name"]: s for s in json.loads(listed.stdout)}
    assert states["kb"]["documents"] == 1 and states["docs"]["documents"] == 1
    assert len(states["docs"]["revision"]) == 40 and states["docs"]["healthy"]
