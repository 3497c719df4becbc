"""Markdown → title, url and heading-scoped sections, with markdown-it-py.

Blocks come out as readable markdown: links keep only their text (reference
definitions vanish), HTML/JSX tags such as <admon>, <abbr>, <details>, <tab>
are dropped but their inner text kept, tables are re-rendered as pipe rows and
code stays a ``` fenced block.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode

from bot.documents import Section
from bot.ingest.budget import Budget, check_nesting
from bot.ingest.docs_as_code import rewrite, route_of

_MD = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
_MDX = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).disable("code")
# markdown-it silently drops what lies deeper than maxNesting (20) block levels, where its
# last tokens sit at level 19: anything that deep is over budget instead. (Raising it slows
# inline parsing; real docs stay under 10 levels, the corpus at 9.)
MAX_NESTING = _MD.options["maxNesting"] - 2

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)^(?:---|\.\.\.)[ \t]*$\n?", re.S | re.M)
_ANCHOR = re.compile(r"\s*\{#([^}\s]*)[^}]*\}\s*$")  # `## Install {#install}`: an explicit id
_TAG = re.compile(r"<\s*/?\s*([A-Za-z][\w:-]*)")
# Tags whose markup we drop (inner text stays). Anything else that looks like a tag,
# e.g. `<path>` or `<Customer/Partner Name>`, is a placeholder and kept literally.
# fmt: off
_HTML_TAGS = {
    "a", "abbr", "address", "article", "aside", "audio", "b", "bdi", "bdo", "big", "blockquote",
    "br", "caption", "center", "cite", "code", "col", "colgroup", "dd", "del", "details", "dfn",
    "div", "dl", "dt", "em", "figcaption", "figure", "font", "footer", "h1", "h2", "h3", "h4",
    "h5", "h6", "header", "hr", "i", "iframe", "img", "input", "ins", "kbd", "label", "li",
    "main", "mark", "nav", "ol", "p", "picture", "pre", "q", "s", "samp", "script", "section",
    "small", "source", "span", "strike", "strong", "style", "sub", "summary", "sup", "svg",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul", "var", "video", "wbr",
}
# fmt: on
# site components (DVC docs), including typos seen in the wild
_COMPONENT_TAGS = {"admon", "admin", "admomn", "tab", "toggle", "card", "cards", "downloadlink"}
_KNOWN_TAGS = _HTML_TAGS | _COMPONENT_TAGS
_LABEL_TAGS = {"tab": "title", "card": "heading"}  # component attributes worth keeping as text


class SectionBuilder:
    """Collects blocks under the current heading path into `Section`s."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str, str]] = []  # level, text, anchor
        self._blocks: list[str] = []
        self._sections: list[Section] = []

    def heading(self, level: int, text: str, anchor: str = "") -> None:
        """Open a section; `anchor` is the heading's own id on its web page, if known."""
        self._flush()
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, text, anchor))

    def block(self, text: str) -> None:
        text = text.strip("\n").rstrip()
        if text.strip():
            self._blocks.append(text)

    def extend_last(self, text: str, sep: str = "\n") -> bool:
        """Append to the last block of the current heading; False if there is none."""
        if not self._blocks:
            return False
        self._blocks[-1] += sep + text
        return True

    def _flush(self) -> None:
        if not self._blocks:
            return
        headings = tuple(text for _, text, _ in self._stack)
        anchor = self._stack[-1][2] if self._stack else ""
        if self._sections and self._sections[-1].headings == headings:
            prev = self._sections.pop()
            self._blocks = [*prev.blocks, *self._blocks]
        self._sections.append(Section(headings, tuple(self._blocks), anchor))
        self._blocks = []

    def sections(self) -> tuple[Section, ...]:
        self._flush()
        return tuple(self._sections)


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """YAML front matter (a dict, maybe empty) and the body after it."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        meta = None
    return (meta if isinstance(meta, dict) else {}), text[match.end() :]


def meta_str(meta: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
    return None


def parse_markdown(
    text: str, path: str = "", *, mdx: bool = False, max_nesting: int = MAX_NESTING
) -> tuple[str | None, str | None, tuple[Section, ...]]:
    """(title or None, url or None, sections) of a markdown (or MDX) document at `path`.

    The url is absolute (front matter `url`), or the page's route on its docs site relative
    to the docs root (front matter `slug`/`id`, bot/ingest/docs_as_code.py), or None."""
    meta, body = split_front_matter(text)
    md = _MDX if mdx else _MD  # MDX has no indented code: JSX children are indented text
    body = rewrite(body, mdx=mdx)
    tree = SyntaxTreeNode(_parse(body, max_nesting, md))
    if not any(node.type != "heading" for node in tree.children):
        # glossary-style files keep their text in the front matter
        for key in ("description", "tooltip", "summary"):
            extra = meta.get(key)
            if isinstance(extra, str) and extra.strip():
                tree = SyntaxTreeNode(_parse(f"{body}\n\n{extra}", max_nesting, md))
                break
    headings = [node for node in tree.children if node.type == "heading"]
    h1s = [node for node in headings if node.tag == "h1"]
    title_node = h1s[0] if h1s and (len(h1s) == 1 or headings[0] is h1s[0]) else None
    title = (
        meta_str(meta, "title", "name")
        or (heading_text(title_node) if title_node else None)
        or meta_str(meta, "sidebar_label")
    )
    url = meta_str(meta, "url", "canonical_url", "source")
    if not url or not re.match(r"^https?://", url, re.I):
        url = route_of(meta, path) or (url if url and "://" in url else None)
    builder = SectionBuilder()
    for node in tree.children:
        if node.type == "heading":
            if node is not title_node:
                builder.heading(int(node.tag[1]), heading_text(node), heading_anchor(node))
            continue
        for block in render_block(node):
            builder.block(block)
    return title, url, builder.sections()


def _parse(text: str, max_nesting: int, md: MarkdownIt = _MD) -> list[Token]:
    tokens = md.parse(text)
    deepest = max((t.level for t in tokens), default=0)
    check_nesting(deepest, Budget(nesting=min(max_nesting, MAX_NESTING)))
    return tokens


def heading_text(node: SyntaxTreeNode) -> str:
    text = render_inline(node.children[0], plain=True) if node.children else ""
    return " ".join(_ANCHOR.sub("", text).split())


def heading_anchor(node: SyntaxTreeNode) -> str:
    """The id a heading gives itself (`## Install {#install}`), '' when it gives none."""
    text = node.children[0].content if node.children else ""
    match = _ANCHOR.search(text)
    return match.group(1) if match else ""


def render_block(node: SyntaxTreeNode, depth: int = 0) -> list[str]:
    """Markdown text of one block node (a list of blocks: html may expand to several)."""
    kind = node.type
    if kind == "paragraph":
        return [render_inline(node.children[0])] if node.children else []
    if kind in ("fence", "code_block"):
        return [fence(node.content, node.info if kind == "fence" else "")]
    if kind in ("bullet_list", "ordered_list"):
        return [_render_list(node, depth)]
    if kind == "table":
        return [_render_table(node)]
    if kind == "blockquote":
        inner = "\n\n".join(b for child in node.children for b in render_block(child, depth))
        return ["\n".join(f"> {line}".rstrip() for line in inner.split("\n"))] if inner else []
    if kind == "heading":  # inside a list or quote
        return [f"**{heading_text(node)}**"]
    if kind == "html_block":
        return _html_blocks(node.content, depth)
    return []  # hr, and anything unknown without text


def fence(code: str, info: str = "") -> str:
    code = code.rstrip("\n")
    ticks = "```"
    while ticks in code:
        ticks += "`"
    return f"{ticks}{info.strip()}\n{code}\n{ticks}"


def render_inline(node: SyntaxTreeNode, plain: bool = False, table: bool = False) -> str:
    """Inline markdown: links → their text, images dropped, known HTML tags dropped."""
    out: list[str] = []
    for child in node.children:
        kind = child.type
        if kind == "text":
            out.append(child.content)
        elif kind == "softbreak":
            out.append(" ")
        elif kind == "hardbreak":
            out.append(" " if table else "\n")
        elif kind == "code_inline":
            ticks = "" if plain else child.markup
            out.append(f"{ticks}{child.content}{ticks}")
        elif kind in ("strong", "em", "s"):
            inner = render_inline(child, plain, table)
            mark = "" if plain or not inner.strip() else child.markup
            out.append(f"{mark}{inner}{mark}")
        elif kind == "link":
            out.append(render_inline(child, plain, table))
        elif kind == "html_inline":
            out.append(_inline_tag(child.content, table))
        elif kind != "image":
            out.append(child.content or render_inline(child, plain, table))
    text = "".join(out)
    return re.sub(r"[ \t]+\n", "\n", re.sub(r"(?<=\S)[ \t]{2,}", " ", text)).strip()


def _inline_tag(content: str, table: bool) -> str:
    match = _TAG.match(content)
    if not match:
        return "" if content.startswith(("<!--", "<?", "<!")) else content
    name = match.group(1).lower()
    if name == "br":
        return " " if table else "\n"
    if name in _KNOWN_TAGS:
        label = _LABEL_TAGS.get(name)
        if label and not content.startswith("</"):
            value = _soup(content).find(name)
            if value is not None and value.get(label):
                return f"{value[label]}: "
        return ""
    return content


def _soup(content: str) -> Any:
    """Parsed HTML inside Markdown. bs4 is imported here, on first use: a command that only
    checks the index is up to date never parses a file, and should not pay its import."""
    from bs4 import BeautifulSoup

    return BeautifulSoup(content, "html.parser")


def _html_blocks(content: str, depth: int) -> list[str]:
    soup = _soup(content)
    for tag in soup.find_all(["script", "style"]):
        tag.decompose()
    labels = [
        f"**{label}**"
        for name, attr in _LABEL_TAGS.items()
        for tag in soup.find_all(name)
        if isinstance(label := tag.get(attr), str) and label.strip()
    ]
    text = textwrap.dedent(soup.get_text()).strip()
    if not text:
        return labels
    if depth > 0:
        return [*labels, *(p.strip() for p in re.split(r"\n\s*\n", text) if p.strip())]
    tree = SyntaxTreeNode(_MD.parse(text))
    return labels + [b for child in tree.children for b in render_block(child, depth + 1)]


def _render_list(node: SyntaxTreeNode, depth: int) -> str:
    ordered = node.type == "ordered_list"
    start = int(node.attrs.get("start", 1)) if ordered else 1
    lines: list[str] = []
    for i, item in enumerate(node.children):
        marker = f"{start + i}." if ordered else "-"
        pad = " " * (len(marker) + 1)
        parts = [b for child in item.children for b in render_block(child, depth + 1)]
        first, *rest = "\n".join(parts).split("\n")
        lines.append(f"{marker} {first}".rstrip())
        lines.extend(pad + line if line.strip() else "" for line in rest)
    return "\n".join(lines)


def _render_table(node: SyntaxTreeNode) -> str:
    rows: list[list[str]] = []
    for part in node.children:  # thead, tbody
        for row in part.children:
            rows.append(
                [
                    render_inline(cell.children[0], table=True).replace("|", "\\|")
                    if cell.children
                    else ""
                    for cell in row.children
                ]
            )
    if not rows:
        return ""
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(line.replace("|  |", "| |") for line in lines)
