"""Git sources against real git servers on loopback: git daemon (git://) and smart HTTP
(`git http-backend` behind basic auth), with the real model and real ingests."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest
from gitservers import Repo, SmartHttp, git_daemon

from bot import cli as cli_module
from bot.config import Settings
from bot.engine.engine import Engine
from bot.index import builds
from bot.ingest import pipeline
from bot.reload import KnowledgeWatcher
from bot.slack.serve import health
from bot.sources.git import web_url
from bot.sources.spec import parse_source
from bot.sources.state import load_state

DOCS = {
    "runbooks/restart.md": "# Restart\n\n## Alpha\n\nRestart alpha with `alpha restart --now`.\n",
    "runbooks/scale.md": "# Scaling\n\n## Beta\n\nBeta scales out by adding replicas.\n",
    "guide/paging.md": "# Paging\n\n## Escalation\n\nPage the secondary after 15 minutes.\n",
}


def _settings(tmp_path: Path, spec: str) -> Settings:
    return Settings(
        knowledge_sources=(parse_source(spec),),
        index_dir=tmp_path / "index",
        data_dir=tmp_path / "data",
    )


def _hashes(work: Path) -> dict[str, str]:
    return {
        p.relative_to(work).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in work.rglob("*.md")
        if ".git" not in p.parts
    }


def test_git_daemon_push_then_force_push_index_exactly_the_synced_commit(tmp_path):
    repo = Repo(tmp_path / "git", DOCS)
    with git_daemon(repo.served) as url:
        settings = _settings(tmp_path, f"git+{url}docs.git")
        first = pipeline.ingest(settings)
        manifest = builds.read_manifest(settings.index_dir)
        assert manifest is not None and first.files == 3
        assert manifest.files == _hashes(repo.work)
        assert manifest.sources[0]["kind"] == "git"
        first_commit = manifest.sources[0]["revision"]
        assert len(first_commit) == 40
        assert pipeline.ingest(settings).up_to_date

        head = repo.commit({"runbooks/scale.md": DOCS["runbooks/scale.md"] + "\nUse HPA.\n"}, "hpa")
        assert not pipeline.check_fresh(settings)
        changed = pipeline.ingest(settings)
        manifest = builds.read_manifest(settings.index_dir)
        assert manifest is not None and manifest.sources[0]["revision"] == head
        assert manifest.files == _hashes(repo.work)
        assert 1 <= changed.embedded <= 2  # the changed file's passages only

        forced = repo.rewrite(
            {"guide/paging.md": None, "guide/oncall.md": "# On call\n\nRota.\n"}, "x"
        )
        assert forced != head
        pipeline.ingest(settings)
        manifest = builds.read_manifest(settings.index_dir)
        assert manifest is not None and manifest.sources[0]["revision"] == forced
        assert manifest.files == _hashes(repo.work)
        assert "guide/paging.md" not in manifest.files  # the force-push removed it


def test_smart_http_wrong_password_is_one_line_without_the_password(tmp_path, monkeypatch, capsys):
    repo = Repo(tmp_path / "git", DOCS)
    with SmartHttp(repo.served, "bob", "s3cret-pw") as http:
        spec = f"git+{http.url('bob:wr0ng-pw')}docs.git"
        monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
        argv = ["opsbot", "ingest", "--source", spec, "--index-dir", str(tmp_path / "i")]
        monkeypatch.setattr(sys, "argv", argv)
        with pytest.raises(SystemExit) as exc:
            cli_module.main()
    out, err = capsys.readouterr()
    assert exc.value.code == 1
    assert err.count("\n") == 1 and "Authentication failed" in err
    assert "wr0ng-pw" not in err + out and "bob:" not in err
    state = (tmp_path / "data" / "sources" / "docs" / "state.json").read_text()
    assert "wr0ng-pw" not in state and json.loads(state)["error"]


def test_server_dying_mid_fetch_keeps_the_old_build_serving(tmp_path):
    repo = Repo(tmp_path / "git", DOCS)
    with SmartHttp(repo.served, "bob", "s3cret-pw") as http:
        settings = _settings(tmp_path, f"kb=git+{http.url('bob:s3cret-pw')}docs.git")
        engine = Engine.open(settings, notify=lambda _line: None)
        before = engine.index.path
        assert engine.answer("How do I restart alpha?").answered
        repo.commit({"runbooks/restart.md": "# Restart\n\nGone.\n"}, "two")
        http.die_mid_fetch = True
        watcher = KnowledgeWatcher(engine, settings)
        result = watcher.reload_if_changed()
    assert result.ok and not result.changed and engine.index.path == before
    answer = engine.answer("How do I restart alpha?")
    assert answer.answered and "alpha restart" in answer.answer
    state = load_state(settings, "kb")
    assert state is not None and state.error.startswith("git fetch")
    assert state.documents == 3 and "s3cret" not in json.dumps(state.__dict__)
    body = health(engine, watcher)()
    assert body["status"] == "degraded" and "s3cret" not in json.dumps(body)
    assert [(s["name"], s["healthy"], s["documents"]) for s in body["sources"]] == [
        ("kb", False, 3)
    ]


@pytest.mark.parametrize(
    ("clone", "expected"),
    [
        (
            "https://github.com/org/repo.git",
            "https://github.com/org/repo/blob/C/docs/a%20b.md#roll-back",
        ),
        (
            "ssh://git@gitlab.com/g/sub/repo.git",
            "https://gitlab.com/g/sub/repo/-/blob/C/docs/a%20b.md#roll-back",
        ),
        (
            "https://codeberg.org/o/r",
            "https://codeberg.org/o/r/src/commit/C/docs/a%20b.md#roll-back",
        ),
        (
            "https://gitea.example.com:3000/o/r.git",
            "https://gitea.example.com:3000/o/r/src/commit/C/docs/a%20b.md#roll-back",
        ),
        (
            "https://x:tok@bitbucket.org/w/r.git",
            "https://bitbucket.org/w/r/src/C/docs/a%20b.md#markdown-header-roll-back",
        ),
        ("git://git.example.com/r.git", None),
    ],
)
def test_web_links_on_git_hosts(clone, expected):
    assert web_url(clone, "C", "docs", "a b.md", "roll-back") == expected
    if expected:
        assert (
            web_url(clone, "C", "docs", "a.txt", "roll-back")
            == expected.replace("a%20b.md", "a.txt").split("#")[0]
        )
