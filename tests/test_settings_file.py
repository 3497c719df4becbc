"""opsbot.toml: sources with access lists, channel settings, one-line errors, live reload."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings
from bot.settings_file import LiveConfig, check_sources, config_path, load, parse

GOOD = """
[[source]]
name = "security"
path = "{kb}"
allow = ["C0SECURITY", "S0SECTEAM"]
url = "https://wiki.example/security/"

[[source]]
name = "vendor"
uri = "https://docs.example.com/guide/"

[[channel]]
id = "C0HELP"
respond = "questions"
sources = ["security"]
escalate = "S0ONCALL"
"""


def test_a_full_file_reads_into_sources_and_channels(tmp_path):
    kb = tmp_path / "security"
    kb.mkdir()
    path = tmp_path / "opsbot.toml"
    path.write_text(GOOD.format(kb=kb))
    file = load(path)
    security, vendor = file.sources
    assert (security.name, security.kind, security.allow) == (
        "security",
        "folder",
        ("C0SECURITY", "S0SECTEAM"),
    )
    assert security.base_url == "https://wiki.example/security/" and security.named
    assert (vendor.kind, vendor.name) == ("site", "vendor")
    help_channel = file.channel("C0HELP")
    assert (help_channel.respond, help_channel.sources, help_channel.escalate) == (
        "questions",
        ("security",),
        "S0ONCALL",
    )
    assert file.channel("C0OTHER").respond == "mention"  # the default


def test_a_file_entry_for_a_given_folder_adds_only_its_settings(tmp_path):
    kb = tmp_path / "kb"
    kb.mkdir()
    file = parse({"source": [{"name": "team", "path": str(kb), "allow": ["C0TEAM"]}]})
    specs = Settings(knowledge_dirs=(kb,)).source_specs(file.sources)
    assert len(specs) == 1 and specs[0].name == "team" and specs[0].allow == ("C0TEAM",)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"channel": [{"id": "C0A"}, {"id": "C0B", "respond": "always"}]}, "channel[2].respond"),
        ({"channel": [{"id": "C0A", "mode": "questions"}]}, "channel[1]: unknown key 'mode'"),
        ({"channel": [{"id": "general"}]}, "channel[1].id"),
        ({"channel": [{"id": "C0A", "escalate": "U0PERSON"}]}, "channel[1].escalate"),
        ({"channel": [{"id": "C0A", "sources": "runbooks"}]}, "channel[1].sources"),
        ({"channel": [{"id": "C0A"}, {"id": "C0A"}]}, "channel[2].id 'C0A' is listed twice"),
        ({"source": [{"name": "x"}]}, "source[1] needs exactly one of path or uri"),
        ({"source": [{"path": "/a", "uri": "https://b"}]}, "source[1] needs exactly one"),
        ({"source": [{"path": "/a", "allow": ["#security"]}]}, "source[1].allow"),
        ({"source": [{"path": "/a", "allow": "C0A"}]}, "source[1].allow must be a list"),
        ({"source": [{"uri": "ftp://x/y"}]}, "source[1]: ftp:// is not a source"),
        ({"source": [{"path": "/a", "url": "wiki"}]}, "source[1].url"),
        ({"sources": []}, "unknown key 'sources'"),
        ({"channel": {"id": "C0A"}}, "channel must be an array of tables"),
    ],
)
def test_bad_values_are_one_line_errors_naming_the_key(data, message):
    with pytest.raises(ConfigError) as error:
        parse(data)
    text = str(error.value)
    assert message in text and "\n" not in text and text.startswith("opsbot.toml")


def test_a_channel_naming_an_unknown_source_is_an_error():
    file = parse({"channel": [{"id": "C0A", "sources": ["nope"]}]})
    with pytest.raises(ConfigError, match=r"channel\[1\].sources: no source is named 'nope'"):
        check_sources(file, ["runbooks"])


def test_the_file_is_optional_unless_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert config_path({}) == (Path("opsbot.toml"), False)
    assert config_path({"OPSBOT_CONFIG": "ops/bot.toml"}) == (Path("ops/bot.toml"), True)
    assert load(tmp_path / "opsbot.toml").sources == ()
    with pytest.raises(ConfigError, match="OPSBOT_CONFIG"):
        load(tmp_path / "missing.toml", required=True)
    with pytest.raises(ConfigError, match="not valid TOML"):
        bad = tmp_path / "bad.toml"
        bad.write_text("[[channel]\n")
        load(bad)


def test_live_reload_takes_a_good_file_and_keeps_the_last_good_one_on_a_bad(tmp_path, caplog):
    path = tmp_path / "opsbot.toml"
    path.write_text('[[channel]]\nid = "C0HELP"\nrespond = "questions"\n')
    live = LiveConfig(path)
    assert live.current.channel("C0HELP").respond == "questions"
    path.write_text('[[channel]]\nid = "C0HELP"\nrespond = "off"\n')
    os.utime(path, (1, 1))  # a new stamp even within the clock's resolution
    assert live.refresh() and live.current.channel("C0HELP").respond == "off"
    path.write_text('[[channel]]\nid = "C0HELP"\nrespond = "loud"\n')
    with caplog.at_level(logging.ERROR):
        assert not live.refresh()
    assert live.current.channel("C0HELP").respond == "off"
    assert "channel[1].respond" in live.error
    assert any("keeping the last good one" in r.getMessage() for r in caplog.records)
    assert not live.refresh()  # unchanged since: no second error line


def test_the_knowledge_watcher_rereads_the_config_file(tmp_path):
    from types import SimpleNamespace

    from bot.reload import KnowledgeWatcher

    path = tmp_path / "opsbot.toml"
    path.write_text('[[channel]]\nid = "C0HELP"\nrespond = "questions"\n')
    live = LiveConfig(path)
    # its reload fails: logged, kept; no store of its own, so the watcher opens INDEX_DIR's
    engine = SimpleNamespace(chunk_count=0, embedder=None, store=None)
    settings = Settings(knowledge_dirs=(tmp_path / "missing",), index_dir=tmp_path / "idx")
    watcher = KnowledgeWatcher(engine, settings, config=live)  # type: ignore[arg-type]
    path.write_text('[[channel]]\nid = "C0HELP"\nrespond = "off"\n')
    os.utime(path, (2, 2))
    watcher.reload_if_changed()
    assert live.current.channel("C0HELP").respond == "off"


def test_a_source_declared_only_in_the_config_file_is_ingested(tmp_path, monkeypatch):
    """Issue 16: `[[source]]` entries add to the flags' sources, for ingest too."""
    from bot.config import Settings
    from bot.sources.registry import declared_specs

    (tmp_path / "kb").mkdir()
    (tmp_path / "security").mkdir()
    config = tmp_path / "opsbot.toml"
    config.write_text(
        f'[[source]]\nname = "sec"\npath = "{tmp_path / "security"}"\nallow = ["C0SEC"]\n'
    )
    monkeypatch.setenv("OPSBOT_CONFIG", str(config))
    specs = declared_specs(Settings(knowledge_dirs=(tmp_path / "kb",)))
    assert [(s.name, s.kind, s.allow) for s in specs] == [
        ("kb", "folder", ()),
        ("sec", "folder", ("C0SEC",)),
    ]
    config.write_text('[[source]]\nname = "sec"\nwhere = "x"\n')
    with pytest.raises(ConfigError, match="opsbot.toml"):
        declared_specs(Settings(knowledge_dirs=(tmp_path / "kb",)))
