"""One fetched docs page → a Markdown file of its main content, plus the links it holds.

`trafilatura` finds the main content (no navigation, header, footer, sidebar, search box);
it is imported here only, so commands that read no website never load it. Its Markdown
loses the page's heading ids, so they are read from the page itself and written back as
`## Heading {#id}`: bot/ingest/markdown.py turns those into deep links (`url#id`). The file
starts with front matter holding the page's title and URL, so a page that did not change
gives a byte-identical file (same hash: nothing to re-embed).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict, deque
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

_HEADINGS = [f"h{n}" for n in range(1, 7)]
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_PERMALINK = re.compile(r"[\s¶#§🔗]+$")  # MkDocs '¶', Sphinx '¶', Hugo '#' permalink marks


@dataclass(frozen=True)
class Page:
    markdown: str  # '' when the page has no main content
    links: tuple[str, ...]  # absolute, without fragments
    noindex: bool
    canonical: str


def _norm(text: str) -> str:
    return " ".join(_PERMALINK.sub("", text).split()).casefold()


def _heading_id(tag: HtmlElement) -> str:
    """The id a reader's browser jumps to for this heading: its own, a permalink's target,
    an anchor inside it, or its section's (Sphinx puts the id on the enclosing section)."""
    if own := tag.get("id"):
        return own
    for link in tag.iter("a"):
        href, name = link.get("href") or "", link.get("id") or link.get("name")
        if href.startswith("#") and len(href) > 1:
            return href[1:]
        if name:
            return name
    parent = tag.getparent()
    if parent is not None and parent.tag in ("section", "div") and parent.get("id"):
        first = next(iter(parent.iterdescendants(*_HEADINGS)), None)
        if first is tag:
            return parent.get("id") or ""
    return ""


def _text(tag: HtmlElement) -> str:
    return " ".join(_PERMALINK.sub("", " ".join(tag.itertext())).split())


def _title(tree: HtmlElement) -> str:
    for h1 in tree.iter("h1"):
        if text := _text(h1):
            return text
        break
    for meta in tree.iter("meta"):
        if meta.get("property") == "og:title" and meta.get("content"):
            return " ".join((meta.get("content") or "").split())
    title = next(tree.iter("title"), None)
    return " ".join(" ".join(title.itertext()).split()) if title is not None else ""


def _noindex(tree: HtmlElement) -> bool:
    return any(
        (meta.get("name") or "").lower() in ("robots", "opsbot")
        and "noindex" in (meta.get("content") or "").lower()
        for meta in tree.iter("meta")
    )


def links_of(tree: HtmlElement, base: str) -> tuple[str, ...]:
    found: list[str] = []
    for link in tree.iter("a"):
        href = (link.get("href") or "").strip()
        if not href or href.startswith(("#", "mailto:", "javascript:", "tel:")):
            continue
        if "nofollow" in (link.get("rel") or ""):
            continue
        found.append(urldefrag(urljoin(base, href))[0])
    return tuple(dict.fromkeys(found))


def extract_page(html: str, url: str) -> Page:
    """The page's main content as Markdown with heading ids, its links and robots flags."""
    import trafilatura  # ~0.4 s of imports: only when a site is synced

    try:
        tree = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return Page("", (), False, "")
    base_tag = next((b for b in tree.iter("base") if b.get("href")), None)
    base = urljoin(url, base_tag.get("href") or "") if base_tag is not None else url
    canonical = next(
        (urljoin(url, link.get("href") or "") for link in tree.iter("link")
         if "canonical" in (link.get("rel") or "").split() and link.get("href")),
        "",
    )  # fmt: skip
    links, noindex, title = links_of(tree, base), _noindex(tree), _title(tree)
    ids: dict[str, deque[str]] = defaultdict(deque)
    for tag in tree.iter(*_HEADINGS):
        if anchor := _heading_id(tag):
            ids[_text(tag).casefold()].append(anchor)
    content = trafilatura.extract(
        tree,  # parsed once; trafilatura may change it, so it goes last
        url=url,
        output_format="markdown",
        include_formatting=True,
        include_tables=True,
        include_links=False,
        include_images=False,
        include_comments=False,
        favor_recall=True,
        deduplicate=False,
    )
    if not content or not content.strip():
        return Page("", links, noindex, canonical)
    lines = []
    for line in content.strip().split("\n"):
        match = _MD_HEADING.match(line)
        if match:
            text = _PERMALINK.sub("", match.group(2)).strip()
            queue = ids.get(_norm(text))
            anchor = queue.popleft() if queue else ""
            line = f"{match.group(1)} {text}" + (f" {{#{anchor}}}" if anchor else "")
        lines.append(line)
    front = f"---\ntitle: {json.dumps(title)}\nurl: {json.dumps(url)}\n---\n\n"
    return Page(front + "\n".join(lines) + "\n", links, noindex, canonical)
