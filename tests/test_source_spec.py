"""The named-source SPEC: one table of accepted and refused forms, names, and merging."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, from_env
from bot.sources.spec import (
    SourceSpec,
    merge,
    parse_source,
    parse_sources,
    source_of,
    without_credentials,
)

ACCEPTED = [
    # raw, kind, name, location, ref, subdirectory
    ("docs/runbooks", "folder", "runbooks", "docs/runbooks", "", ""),
    ("kb=docs/runbooks", "folder", "kb", "docs/runbooks", "", ""),
    (
        "git+https://github.com/org/handbook.git",
        "git",
        "handbook",
        "https://github.com/org/handbook.git",
        "",
        "",
    ),
    (
        "git+https://gitlab.example/org/ops.git@v2.1#subdirectory=docs/",
        "git",
        "ops",
        "https://gitlab.example/org/ops.git",
        "v2.1",
        "docs",
    ),
    (
        "git+ssh://git@github.com/org/runbooks.git@main",
        "git",
        "runbooks",
        "ssh://git@github.com/org/runbooks.git",
        "main",
        "",
    ),
    ("rb=git+git://127.0.0.1:9418/rb", "git", "rb", "git://127.0.0.1:9418/rb", "", ""),
    ("git+file:///srv/git/kb.git", "git", "kb", "file:///srv/git/kb.git", "", ""),
    (
        "https://www.mkdocs.org/user-guide/",
        "site",
        "mkdocs.org",
        "https://www.mkdocs.org/user-guide/",
        "",
        "",
    ),
    ("play=http://127.0.0.1:8000/", "site", "play", "http://127.0.0.1:8000/", "", ""),
]


@pytest.mark.parametrize(("raw", "kind", "name", "location", "ref", "sub"), ACCEPTED)
def test_accepted_specs(raw, kind, name, location, ref, sub) -> None:
    spec = parse_source(raw)
    assert (spec.kind, spec.name, spec.location, spec.ref, spec.subdirectory) == (
        kind,
        name,
        location,
        ref,
        sub,
    )
    assert spec.named == raw.startswith(f"{name}=")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        ("git+ftp://host/repo.git", "git clone URL must use"),
        ("git+https://host/repo.git#egg=x", "unknown fragment"),
        ("git+https://host/r.git#subdirectory=../../etc", "must stay in the repository"),
        ("s3://bucket/docs", "is not a source"),
        ("https://", "has no host"),
    ],
)
def test_refused_specs(raw: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_source(raw)


def test_credentials_never_shown() -> None:
    spec = parse_source("git+https://bot:s3cret@git.example/org/kb.git@main")
    assert spec.location == "https://bot:s3cret@git.example/org/kb.git"  # git needs them
    assert "s3cret" not in spec.display and "bot:" not in spec.display
    assert without_credentials("https://u:p@h:8080/x") == "https://h:8080/x"
    with pytest.raises(ConfigError) as caught:
        parse_source("git+https://bot:s3cret@git.example/")
    assert "s3cret" not in str(caught.value)


def test_environment_list_and_duplicate_names(tmp_path: Path) -> None:
    (tmp_path / "a" / "docs").mkdir(parents=True)
    (tmp_path / "b" / "docs").mkdir(parents=True)
    specs = parse_sources(f" {tmp_path}/a/docs\n  site=https://docs.example/ ")
    assert [s.name for s in specs] == ["docs", "site"]
    with pytest.raises(ConfigError, match="both named 'docs'"):
        merge(parse_sources(f"{tmp_path}/a/docs {tmp_path}/b/docs"), ())
    assert [s.name for s in merge(parse_sources(f"x={tmp_path}/a/docs {tmp_path}/b/docs"), ())]


def test_config_file_entry_adds_settings_to_a_given_source(tmp_path: Path) -> None:
    given = [parse_source(str(tmp_path))]
    from_file = [
        SourceSpec("security", "folder", str(tmp_path / "."), allow=("C0SEC",), named=True),
        SourceSpec("extra", "site", "https://docs.example/", named=True),
    ]
    merged = merge(given, from_file)
    assert [(s.name, s.allow) for s in merged] == [("security", ("C0SEC",)), ("extra", ())]


def test_settings_default_folder_only_when_nothing_is_declared() -> None:
    assert Settings().folder_roots() == (Path("knowledge"),)
    assert [s.name for s in Settings().source_specs()] == ["knowledge"]
    only_site = from_env({"KNOWLEDGE_SOURCES": "https://docs.example/"})
    assert only_site.folder_roots() == ()
    assert [s.kind for s in only_site.source_specs()] == ["site"]
    both = from_env({"KNOWLEDGE_DIR": "kb", "KNOWLEDGE_SOURCES": "git+https://h/o/r.git"})
    assert [s.name for s in both.source_specs()] == ["kb", "r"]
    with pytest.raises(ConfigError, match="KNOWLEDGE_SOURCES"):
        from_env({"KNOWLEDGE_SOURCES": "ftp://x/"})


def test_source_of_a_stored_path() -> None:
    assert source_of("guide/a.md", ["handbook"]) == "handbook"
    assert source_of("runbooks/db/failover.md", ["handbook", "runbooks"]) == "runbooks"
    assert source_of("other/x.md", ["handbook", "runbooks"]) == ""
