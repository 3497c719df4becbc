"""Docs-as-code formats: MDX, admonitions and docs-site front matter, as real sites write them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bot.documents import Document
from bot.ingest.chunker import chunk_document
from bot.ingest.docs_as_code import rewrite, route_of
from bot.ingest.loaders import SourceFile, discover, load_document
from bot.ingest.urls import document_url


def load(tmp_path: Path, name: str, text: str) -> Document:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    raw = path.read_bytes()
    return load_document(SourceFile(name, path, hashlib.sha256(raw).hexdigest(), len(raw)))


def body(doc: Document) -> str:
    return "\n".join(b for s in doc.sections for b in s.blocks)


# A Helm-docs-style Docusaurus page: imports, exports, tabs, admonitions, a comment.
HELM_INSTALL = """---
title: Installing Helm
sidebar_label: Install
slug: /intro/install
---
import Tabs from '@theme/Tabs';
import TabItem from '@theme/TabItem';
import {
  versions,
  latest,
} from '@site/src/versions';

export const Latest = () => <code>{latest}</code>;

{/* the install script is maintained in helm/helm */}

This guide shows how to install the Helm CLI.

:::warning Supported versions
Helm 2 is no longer supported.
Use Helm 3.
:::

## From the binary releases {#binary}

<Tabs>
  <TabItem value="linux" label="Linux">

    Download your desired version and unpack it:

    ```bash
    tar -zxvf helm-v3.0.0-linux-amd64.tar.gz
    ```

  </TabItem>
  <TabItem value="mac" label="macOS">
    Use <Highlight color="#25c2a0">Homebrew</Highlight>: `brew install helm` (not `<Tabs>`).
  </TabItem>
</Tabs>

:::note

From Helm 3.2 the script verifies checksums.

:::

export default function Wrapper({children}) {
  return <div>{children}</div>;
}
"""


def test_mdx_page_reads_as_markdown(tmp_path: Path) -> None:
    doc = load(tmp_path, "docs/intro/install.mdx", HELM_INSTALL)
    assert doc.title == "Installing Helm"
    assert doc.url == "intro/install"  # slug: a route under the docs root
    assert [s.headings for s in doc.sections] == [(), ("From the binary releases",)]
    assert doc.sections[1].anchor == "binary"
    intro, binary = (s.blocks for s in doc.sections)
    assert intro == (
        "This guide shows how to install the Helm CLI.",
        "**Supported versions**",
        "Helm 2 is no longer supported. Use Helm 3.",
    )
    assert binary == (
        "**Linux**",
        "Download your desired version and unpack it:",
        "```bash\ntar -zxvf helm-v3.0.0-linux-amd64.tar.gz\n```",
        "**macOS**",
        "Use Homebrew: `brew install helm` (not `<Tabs>`).",
        "**Note**",
        "From Helm 3.2 the script verifies checksums.",
    )
    text = body(doc)
    for leftover in (
        "import ",
        "export ",
        "@site",
        "latest",
        "{/*",
        "<TabItem",
        "</Tabs",
        ":::",
        "{children}",
    ):
        assert leftover not in text


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # Docusaurus admonitions: kind only, kind + title, bracket title, nested fences
        (":::tip\nCache your images.\n:::", "\n**Tip**\n\nCache your images.\n"),
        (":::danger Take care\nThis deletes data.\n:::", "\n**Take care**\n\nThis deletes data.\n"),
        (":::info[Heads up]\nRead this.\n:::", "\n**Heads up**\n\nRead this.\n"),
        (
            "::::note\nOuter.\n:::tip\nInner.\n:::\n::::",
            "\n**Note**\n\nOuter.\n\n**Tip**\n\nInner.\n\n",
        ),
        # MkDocs Material: title, collapsible, no title, body ends at the first outdented line
        (
            '!!! warning "Drain first"\n    Run `kubectl drain`.\n\n    Then upgrade.\nAfter.',
            "\n**Drain first**\n\nRun `kubectl drain`.\n\nThen upgrade.\nAfter.",
        ),
        ('???+ note "Details"\n    Hidden text.', "\n**Details**\n\nHidden text."),
        ("!!! note\n    Plain note.", "\n**Note**\n\nPlain note."),
        # fenced code is never rewritten
        ("```\n:::note\n!!! tip\n```", "```\n:::note\n!!! tip\n```"),
    ],
)
def test_admonitions_keep_their_text(source: str, expected: str) -> None:
    assert rewrite(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import Foo from './foo';\nText.", "Text."),
        ("export const meta = {\n  a: 1,\n};\nText.", "Text."),
        ("<Card title='Backups'>\nNightly.\n</Card>", "\n**Backups**\n\nNightly.\n\n"),
        ("Press <Kbd>Ctrl</Kbd>+<Kbd>C</Kbd>.", "Press Ctrl+C."),
        ("See `<Foo>` here.", "See `<Foo>` here."),
        ("<br/>", "\n"),
    ],
)
def test_mdx_statements_and_components(source: str, expected: str) -> None:
    assert rewrite(source, mdx=True) == expected


def test_mkdocs_page_with_admonition(tmp_path: Path) -> None:
    doc = load(
        tmp_path,
        "ops/rollback.md",
        "# Rolling back\n\nSteps to roll back.\n\n"
        '!!! danger "Production"\n    Ask the on-call lead first.\n\n'
        "## Helm {#helm-rollback}\n\n"
        "??? tip\n    `helm rollback web 3` goes back to revision 3.\n",
    )
    assert doc.title == "Rolling back"
    assert doc.sections[0].blocks == (
        "Steps to roll back.",
        "**Production**",
        "Ask the on-call lead first.",
    )
    assert doc.sections[1].blocks == ("**Tip**", "`helm rollback web 3` goes back to revision 3.")
    assert doc.sections[1].anchor == "helm-rollback"


@pytest.mark.parametrize(
    ("front", "path", "title", "url"),
    [
        ("title: Upgrade\nslug: /ops/upgrade", "guides/upgrade.md", "Upgrade", "ops/upgrade"),
        ("slug: upgrading", "guides/upgrade.md", "Heading", "guides/upgrading"),
        ("slug: /", "index.mdx", "Heading", "./"),
        ("id: start\nsidebar_label: Start", "guides/intro.md", "Heading", "guides/start"),
        ("url: /docs/backup/", "backup.md", "Heading", "/docs/backup/"),
        ("url: https://wiki.example.org/b", "backup.md", "Heading", "https://wiki.example.org/b"),
        ("source: some team wiki", "backup.md", "Heading", None),
    ],
)
def test_front_matter_routes(
    tmp_path: Path, front: str, path: str, title: str, url: str | None
) -> None:
    doc = load(tmp_path, path, f"---\n{front}\n---\n# Heading\n\nText.\n")
    assert doc.title == title
    assert doc.url == url


def test_numeric_id_is_a_route() -> None:
    assert route_of({"id": 7}, "a/b.md") == "a/7"


def test_sidebar_label_title(tmp_path: Path) -> None:
    doc = load(tmp_path, "ref.md", "---\nsidebar_label: CLI flags\n---\n## Flags\n\nText.\n")
    assert doc.title == "CLI flags"


@pytest.mark.parametrize(
    ("base", "inner", "own", "url"),
    [
        ("https://helm.sh/docs/", "intro/install.mdx", "intro/install#binary",
         "https://helm.sh/docs/intro/install#binary"),
        ("https://helm.sh/docs/", "index.mdx", "./", "https://helm.sh/docs/"),
        ("https://example.org/docs/", "backup.md", "/docs/backup/", "https://example.org/docs/backup/"),
        # a repository's file view shows the file, whatever its route on the docs site
        ("https://github.com/helm/helm-www/blob/main/docs/", "intro/install.mdx",
         "intro/install#binary",
         "https://github.com/helm/helm-www/blob/main/docs/intro/install.mdx#binary"),
        ("https://example.org/kb/", "a b.md", None, "https://example.org/kb/a%20b.md"),
        ("", "a.md", "https://x.org/a#b", "https://x.org/a#b"),
        ("", "a.md", "a#b", None),
    ],
)  # fmt: skip
def test_document_url(base: str, inner: str, own: str | None, url: str | None) -> None:
    assert document_url(base, inner, own) == url


def test_links_strip_the_source_name_from_routes_of_several_sources(tmp_path: Path) -> None:
    from bot.config import Settings
    from bot.sources.links import Links

    (tmp_path / "docs").mkdir()
    (tmp_path / "helm").mkdir()
    settings = Settings(
        knowledge_dirs=(tmp_path / "docs", tmp_path / "helm"),
        knowledge_urls=(("helm", "https://helm.sh/docs/"),),
    )
    links = Links(settings, [])
    assert links.url("helm/intro/install.mdx", own="helm/intro/install") == (
        "https://helm.sh/docs/intro/install"
    )
    assert links.url("helm/intro/install.mdx", "Get Helm", own="helm/intro/install") == (
        "https://helm.sh/docs/intro/install#get-helm"
    )
    assert links.url("docs/a.md", own=None) is None


def test_deep_links_follow_heading_ids_into_chunks(tmp_path: Path) -> None:
    text = (
        "---\nurl: https://docs.example.org/runbook/\n---\n# Runbook\n\nIntro.\n\n"
        "## Restart {#restart-the-service}\n\n" + "Restart the web service cleanly. " * 40 + "\n\n"
        "## Plain heading\n\n" + "Nothing to link. " * 40 + "\n"
    )
    doc = load(tmp_path, "runbook.md", text)
    chunks = chunk_document(doc, 128, lambda s: len(s.split()))
    urls = {c.heading.split(" › ")[-1]: c.url for c in chunks}
    assert urls["Restart"] == "https://docs.example.org/runbook/#restart-the-service"
    assert urls["Plain heading"] == "https://docs.example.org/runbook/"


def test_mdx_files_are_discovered(tmp_path: Path) -> None:
    (tmp_path / "a.mdx").write_text("# A\n\nText.\n")
    files, _ = discover(tmp_path, 1_000_000)
    assert [f.path for f in files] == ["a.mdx"]
