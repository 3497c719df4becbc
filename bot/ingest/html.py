"""HTML → title, url and heading-scoped sections, with BeautifulSoup.

Page chrome (script, style, nav, footer, a header outside the article) is
dropped; h1–h6 build the heading path; p/li/pre/table/blockquote become
markdown blocks (pre as a fenced block, tables as pipe rows).
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PageElement, PreformattedString

from bot.documents import Section
from bot.ingest.budget import Budget, check_nesting
from bot.ingest.clean import is_junk_line
from bot.ingest.markdown import SectionBuilder, fence

_DROP = ["script", "style", "nav", "footer", "noscript", "template", "svg", "iframe", "form"]
_HEADINGS = {f"h{n}" for n in range(1, 7)}
_CONTAINERS = {
    "html", "body", "main", "article", "section", "div", "aside", "figure", "figcaption",
    "details", "summary", "header", "center", "dl", "dd", "dt", "address", "hgroup",
}  # fmt: skip


def _squash(text: str) -> str:
    return " ".join(text.split())


def _inline(tag: PageElement) -> str:
    """Readable inline text: code in backticks, <br> as newline, whitespace collapsed."""
    if isinstance(tag, PreformattedString):  # comments, doctype, CDATA, processing instructions
        return ""
    if not isinstance(tag, Tag | NavigableString):
        return ""
    if isinstance(tag, NavigableString):
        return re.sub(r"\s+", " ", str(tag))
    if tag.name == "br":
        return "\n"
    if tag.name == "img":
        return ""
    inner = "".join(_inline(child) for child in tag.children)
    if tag.name == "code" and inner.strip():
        return f"`{inner.strip()}`"
    return inner


def _clean_inline(text: str) -> str:
    return "\n".join(_squash(line) for line in text.split("\n") if line.strip())


def _render_list(tag: Tag, indent: str = "") -> str:
    ordered = tag.name == "ol"
    try:
        number = int(str(tag.get("start") or 1))
    except (TypeError, ValueError):
        number = 1
    lines: list[str] = []
    for item in tag.find_all("li", recursive=False):
        marker = f"{number}." if ordered else "-"
        number += 1
        text, nested = [], []
        for child in item.children:
            if isinstance(child, Tag) and child.name in ("ul", "ol"):
                nested.append(_render_list(child, indent + " " * (len(marker) + 1)))
            elif isinstance(child, Tag) and child.name == "pre":
                text.append("\n" + _pre(child) + "\n")
            else:
                text.append(_inline(child))
        body = _clean_inline("".join(text)).replace("\n", "\n" + indent + "  ")
        lines.append(f"{indent}{marker} {body}".rstrip())
        lines.extend(nested)
    return "\n".join(line for line in lines if line.strip())


def _pre(tag: Tag) -> str:
    code = tag.find("code")
    found: str | list[str] = (
        (code.get("class") if isinstance(code, Tag) else None) or tag.get("class") or []
    )
    classes = [found] if isinstance(found, str) else list(found)
    lang = next((c[9:] for c in classes if c.startswith("language-")), "")
    return fence(tag.get_text(), lang)


def _render_table(tag: Tag) -> str:
    rows = []
    for tr in tag.find_all("tr"):
        cells = tr.find_all(["th", "td"], recursive=False)
        rows.append([_squash(_inline(c)).replace("|", "\\|") for c in cells])
    rows = [row for row in rows if any(row)]
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * width]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows[1:]])


class _Walker:
    def __init__(self, title_h1: Tag | None) -> None:
        self.builder = SectionBuilder()
        self.title_h1 = title_h1
        self.buffer: list[str] = []

    def block(self, text: str) -> None:
        if text.strip() and not is_junk_line(text):
            self.builder.block(text)

    def flush(self) -> None:
        self.block(_clean_inline("".join(self.buffer)))
        self.buffer = []

    def walk(self, node: Tag) -> None:
        for child in node.children:
            if not isinstance(child, Tag):
                self.buffer.append(_inline(child))
                continue
            name = child.name
            if name in _HEADINGS:
                self.flush()
                if child is not self.title_h1 and (text := _squash(child.get_text(" "))):
                    self.builder.heading(int(name[1]), text)
            elif name in ("p", "ul", "ol", "pre", "table", "blockquote"):
                self.flush()
                if name == "p":
                    self.block(_clean_inline(_inline(child)))
                elif name in ("ul", "ol"):
                    self.block(_render_list(child))
                elif name == "pre":
                    self.block(_pre(child))
                elif name == "table":
                    self.block(_render_table(child))
                else:
                    quote = _clean_inline(_inline(child))
                    self.block("\n".join(f"> {line}" for line in quote.split("\n")))
            elif name in _CONTAINERS:
                self.flush()
                self.walk(child)
                self.flush()
            else:
                self.buffer.append(_inline(child))


def element_depth(root: Tag, limit: int) -> int:
    """The deepest element nesting, counted without recursion, up to `limit` + 1."""
    deepest = 0
    stack = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > limit:
            break
        stack.extend((child, depth + 1) for child in node.contents if isinstance(child, Tag))
    return deepest


def parse_html(
    text: str, max_nesting: int = 100
) -> tuple[str | None, str | None, tuple[Section, ...]]:
    """(title or None, canonical url or None, sections) of an HTML page. Deeper nesting than
    `max_nesting` is over budget (the walk below recurses once per level)."""
    soup = BeautifulSoup(text, "html.parser")
    check_nesting(element_depth(soup, max_nesting), Budget(nesting=max_nesting))
    canonical = soup.find("link", rel="canonical")
    url = canonical.get("href") if isinstance(canonical, Tag) else None
    title_tag = soup.find("title")
    title = _squash(title_tag.get_text(" ")) if title_tag else ""
    for tag in soup.find_all(_DROP):
        tag.decompose()
    for tag in soup.find_all("header"):
        if not tag.find_parent(["article", "main"]):
            tag.decompose()
    for tag in soup.find_all(["head", "title"]):
        tag.decompose()
    headings = soup.find_all(sorted(_HEADINGS))
    h1s = [h for h in headings if h.name == "h1"]
    title_h1 = h1s[0] if h1s and (len(h1s) == 1 or headings[0] is h1s[0]) else None
    if not title and title_h1 is not None:
        title = _squash(title_h1.get_text(" "))
    walker = _Walker(title_h1)
    walker.walk(soup)
    walker.flush()
    url = url.strip() if isinstance(url, str) else None
    return title or None, url or None, walker.builder.sections()
