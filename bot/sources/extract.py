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

from bs4 import BeautifulSoup, Tag

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


def _heading_id(tag: Tag) -> str:
    """The id a reader's browser jumps to for this heading: its own, a permalink's target,
    an anchor inside it, or its section's (Sphinx puts the id on the enclosing section)."""
    own = tag.get("id")
    if isinstance(own, str) and own:
        return own
    for link in tag.find_all("a"):
        href, name = link.get("href"), link.get("id") or link.get("name")
        if isinstance(href, str) and href.startswith("#") and len(href) > 1:
            return href[1:]
        if isinstance(name, str) and name:
            return name
    parent = tag.parent
    if isinstance(parent, Tag) and parent.name in ("section", "div"):
        first = parent.find(_HEADINGS)
        section_id = parent.get("id")
        if first is tag and isinstance(section_id, str):
            return section_id
    return ""


def _title(soup: BeautifulSoup) -> str:
    h1 = soup.find("h1")
    if isinstance(h1, Tag) and h1.get_text(strip=True):
        return " ".join(_PERMALINK.sub("", h1.get_text(" ")).split())
    meta = soup.find("meta", attrs={"property": "og:title"})
    if isinstance(meta, Tag) and isinstance(meta.get("content"), str):
        return " ".join(str(meta["content"]).split())
    title = soup.find("title")
    return " ".join(title.get_text(" ").split()) if isinstance(title, Tag) else ""


def _noindex(soup: BeautifulSoup) -> bool:
    for meta in soup.find_all("meta", attrs={"name": re.compile(r"^(robots|opsbot)$", re.I)}):
        if "noindex" in str(meta.get("content", "")).lower():
            return True
    return False


def links_of(soup: BeautifulSoup, base: str) -> tuple[str, ...]:
    found: list[str] = []
    for link in soup.find_all("a", href=True):
        href = str(link["href"]).strip()
        if not href or href.startswith(("#", "mailto:", "javascript:", "tel:")):
            continue
        if "nofollow" in str(link.get("rel") or ""):
            continue
        found.append(urldefrag(urljoin(base, href))[0])
    return tuple(dict.fromkeys(found))


def extract_page(html: str, url: str) -> Page:
    """The page's main content as Markdown with heading ids, its links and robots flags."""
    import trafilatura  # ~0.4 s of imports: only when a site is synced

    soup = BeautifulSoup(html, "lxml")
    base_tag = soup.find("base", href=True)
    base = urljoin(url, str(base_tag["href"])) if isinstance(base_tag, Tag) else url
    canonical_tag = soup.find("link", rel="canonical", href=True)
    canonical = urljoin(url, str(canonical_tag["href"])) if isinstance(canonical_tag, Tag) else ""
    links, noindex = links_of(soup, base), _noindex(soup)
    content = trafilatura.extract(
        html,
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
    ids: dict[str, deque[str]] = defaultdict(deque)
    for tag in soup.find_all(_HEADINGS):
        if anchor := _heading_id(tag):
            ids[_norm(tag.get_text(" "))].append(anchor)
    lines = []
    for line in content.strip().split("\n"):
        match = _MD_HEADING.match(line)
        if match:
            text = _PERMALINK.sub("", match.group(2)).strip()
            queue = ids.get(_norm(text))
            anchor = queue.popleft() if queue else ""
            line = f"{match.group(1)} {text}" + (f" {{#{anchor}}}" if anchor else "")
        lines.append(line)
    front = f"---\ntitle: {json.dumps(_title(soup))}\nurl: {json.dumps(url)}\n---\n\n"
    return Page(front + "\n".join(lines) + "\n", links, noindex, canonical)
