"""Nearest topics for declines, the Home tab's catalogue, and source URLs per knowledge root."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, Settings, from_env
from bot.engine.engine import Engine
from bot.engine.topics import group_name, topic_label
from bot.ingest.urls import parse_knowledge_urls
from bot.sources.links import Links

DOCS = {
    "runbooks/alpha.md": "# Alpha Runbook\n\n## How to restart alpha\n\nRun `alpha restart`.\n",
    "runbooks/beta.md": "# Beta Guide\n\n## Why does beta scale?\n\nBeta scales with replicas.\n",
    "runbooks/gamma.md": "# Gamma Backups\n\n## Restore\n\nRestore gamma from the S3 bucket.\n",
    "intro.md": "---\nurl: https://wiki.example/intro\n---\n# Welcome\n\nRead the runbooks.\n",
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Engine:
    root = tmp_path_factory.mktemp("topics") / "kb"
    for path, text in DOCS.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    urls = parse_knowledge_urls("https://git.example/ops/blob/main/kb/")
    settings = Settings(
        knowledge_dirs=(root,),
        index_dir=root.parent / "idx",
        data_dir=root.parent / "data",
        knowledge_urls=urls,
    )
    return Engine.open(settings, notify=lambda _: None)


def test_nearest_topics_rank_titles_by_similarity(engine):
    topics = [t.label for t in engine.nearest_topics("restore a backup from S3", n=3)]
    assert topics[0] == "Gamma Backups" and len(topics) == 3 and len(set(topics)) == 3


def test_decline_offers_the_nearest_topics_not_the_catalogue(engine):
    answer = engine.answer("best pizza in Naples?")
    assert not answer.answered and 1 <= len(answer.topics) <= 5


def test_sources_link_through_front_matter_or_the_root_base_url(engine):
    urls = {s.path: s.url for s in engine.answer("how do I restart alpha", k=4).sources}
    assert urls["runbooks/alpha.md"] == "https://git.example/ops/blob/main/kb/runbooks/alpha.md"
    assert urls.get("intro.md", "https://wiki.example/intro") == "https://wiki.example/intro"


def test_catalogue_groups_folders_and_uses_real_headings(engine):
    cat = engine.catalogue()
    assert cat.documents == 4 and cat.passages >= 4 and cat.built_at > 0
    assert [(g.name, g.documents) for g in cat.groups] == [("runbooks", 3), ("(top level)", 1)]
    assert "How do I restart alpha?" in cat.examples and "Why does beta scale?" in cat.examples
    assert engine.catalogue() is cat  # once per index


def test_knowledge_urls_per_root_and_errors():
    pairs = parse_knowledge_urls("docs=https://a.example/d, handbook=https://b.example/h/")
    assert pairs == (("docs", "https://a.example/d/"), ("handbook", "https://b.example/h/"))
    settings = Settings(knowledge_urls=pairs)
    records = [
        {"name": "docs", "kind": "folder", "location": "/x/docs"},
        {"name": "handbook", "kind": "folder", "location": "/y/handbook"},
    ]
    links = Links(settings, records)
    assert links.url("docs/a b.md", "Roll back (v2)") == "https://a.example/d/a%20b.md"
    assert links.url("other/c.md") is None
    on_github = Settings(knowledge_urls=(("", "https://github.com/o/r/blob/main/docs/"),))
    one = Links(on_github, records[:1])
    assert one.url("a.md", "Roll back (v2)!") == (
        "https://github.com/o/r/blob/main/docs/a.md#roll-back-v2"
    )
    assert one.url("a.md") == "https://github.com/o/r/blob/main/docs/a.md"
    assert one.url("a.txt", "Roll back") == "https://github.com/o/r/blob/main/docs/a.txt"
    with pytest.raises(ConfigError, match="KNOWLEDGE_URLS entry 'docs=ftp://x'"):
        from_env({"KNOWLEDGE_URLS": "docs=ftp://x"})


def test_topic_labels_and_groups():
    assert topic_label("import", "dvc-docs/content/docs/command-reference/import.md") == (
        "import (command-reference)"
    )
    assert topic_label("DevOps vs MLOps", "a/devops.md") == "DevOps vs MLOps"
    assert group_name("dvc-docs/content/docs/x.md") == "dvc-docs/content"
    assert group_name("x.md") == "(top level)"


def test_folder_groups_skip_single_subfolders_and_split_big_folders():
    from bot.engine.topics import folder_groups

    paths = [f"kb/content/docs/ref/c{i}.md" for i in range(50)]
    paths += [f"kb/content/docs/guide/g{i}.md" for i in range(5)] + ["kb/README.md"]
    groups = {name: len(v) for name, v in folder_groups(paths).items()}
    assert groups == {"kb/content/docs/ref": 50, "kb/content/docs/guide": 5, "kb": 1}
