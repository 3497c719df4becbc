"""Docs-as-code syntax that Markdown itself does not know, rewritten to plain Markdown.

Docs sites keep their pages in Markdown dialects: Docusaurus `.mdx` (ES `import`/`export`
lines, JSX components such as `<Tabs>`/`<TabItem>`, `{/* comments */}`) and admonitions
(Docusaurus `:::warning Title … :::`, MkDocs `!!! note "Title"` with an indented body).
They are rewritten line by line before parsing so the text they hold is read like any other
paragraph; fenced code is never touched. Front matter `slug`/`id` give the page's route on
its docs site (see `route_of` and bot/ingest/urls.py).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_ES_STATEMENT = re.compile(r"^(import|export)\s")
_JSX_COMMENT = re.compile(r"\{/\*.*?\*/\}", re.S)
# a whole line of JSX tags only: `<Tabs>`, `</TabItem>`, `<TabItem value="a" label="Apt">`
_JSX_TAG = r"<\s*/?\s*[A-Za-z][\w.:-]*(?:\s+[^<>]*?)?\s*/?\s*>"
_JSX_LINE = re.compile(rf"^\s*(?:{_JSX_TAG}\s*)+$")
_JSX_OPEN = re.compile(r"<\s*([A-Za-z][\w.:-]*)((?:\s+[^<>]*?)?)\s*(/?)\s*>")
_JSX_CLOSE = re.compile(r"<\s*/\s*[A-Za-z][\w.:-]*\s*>")
_LABEL_ATTR = re.compile(
    r"""\b(?:label|title)\s*=\s*(?:"([^"]*)"|'([^']*)'|\{["']([^"']*)["']\})"""
)
# inline JSX components (capitalised, unlike HTML tags), outside `code spans`
_COMPONENT_TAG = re.compile(r"<\s*/?\s*[A-Z][\w.]*(?:\s+[^<>]*?)?\s*/?\s*>")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
# :::note, :::warning Title, :::tip[Title], ::::info{title="x"}
_COLON_OPEN = re.compile(
    r"^\s{0,3}(:{3,})\s*([A-Za-z][\w-]*)?\s*(?:\[([^\]]*)\]|\{[^}]*\})?\s*(.*)$"
)
_COLON_CLOSE = re.compile(r"^\s{0,3}(:{3,})\s*$")
# !!! note "Title", ??? warning, ???+ tip "", !!! danger inline end
_BANG_OPEN = re.compile(
    r"^(\s*)(?:!!!|\?\?\?\+?)\s+([A-Za-z][\w-]*)((?:\s+[\w-]+)*)\s*(?:\"([^\"]*)\")?\s*$"
)


def _label(kind: str, title: str) -> str:
    """What an admonition says before its body: its own title, else its kind ('Warning')."""
    title = title.strip()
    if title:
        return f"**{title}**"
    return f"**{kind[:1].upper()}{kind[1:].lower()}**" if kind else ""


def rewrite(text: str, *, mdx: bool = False) -> str:
    """Admonitions (and, for `.mdx`, imports, exports and JSX lines) as plain Markdown."""
    if mdx:
        text = _JSX_COMMENT.sub("", text)
    lines = text.split("\n")
    out: list[str] = []
    fence = ""
    bang_indent: int | None = None  # inside a `!!!` body: strip this many columns
    jsx_indents: list[int] = []  # per open JSX container: its content's indentation
    statement_depth = 0  # open brackets of a multi-line import/export
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if bang_indent is not None:
            if line.strip() and _indent(line) < bang_indent:
                bang_indent = None
            else:
                line = line[bang_indent:] if _indent(line) >= bang_indent else line.lstrip()
        if mdx and jsx_indents and line.strip():
            if jsx_indents[-1] < 0:  # first content line fixes the container's indentation
                jsx_indents[-1] = _indent(line)
            line = line[min(jsx_indents[-1], _indent(line)) :]
        stripped = line.strip()
        if fence:
            out.append(line)
            if stripped.startswith(fence) and not stripped[len(fence) :].strip():
                fence = ""
            continue
        if match := _FENCE.match(line):
            fence = match.group(1)
            out.append(line)
            continue
        if mdx and (statement_depth or _ES_STATEMENT.match(line)):
            statement_depth = max(0, statement_depth + _brackets(line))
            continue
        if mdx and _JSX_LINE.match(line):
            out.extend(_jsx_line(line, jsx_indents))
            continue
        if mdx:
            line = _drop_components(line)
        if match := _BANG_OPEN.match(line):
            out += ["", _label(match.group(2), match.group(4) or ""), ""]
            bang_indent = _indent(line) + 4
            continue
        if _COLON_CLOSE.match(line):
            out.append("")
            continue
        if (match := _COLON_OPEN.match(line)) and match.group(2):
            title = match.group(3) or match.group(4) or ""
            out += ["", _label(match.group(2), title), ""]
            continue
        out.append(line)
    return "\n".join(out)


def _jsx_line(line: str, jsx_indents: list[int]) -> list[str]:
    """A line of JSX tags: dropped, keeping a tab's or card's label as a bold line."""
    kept: list[str] = []
    for match in _JSX_OPEN.finditer(line):
        attrs = _LABEL_ATTR.search(match.group(2) or "")
        if attrs:
            kept.append(f"**{next(g for g in attrs.groups() if g is not None)}**")
        if not match.group(3):  # not self-closing: a container opens
            jsx_indents.append(-1)
    for _ in _JSX_CLOSE.finditer(line):
        if jsx_indents:
            jsx_indents.pop()
    return ["", *kept, ""]


def _drop_components(line: str) -> str:
    """`Use <Highlight>this</Highlight>` → `Use this`; code spans keep their tags."""
    out, at = [], 0
    for span in _CODE_SPAN.finditer(line):
        out += [_COMPONENT_TAG.sub("", line[at : span.start()]), span.group(0)]
        at = span.end()
    return "".join([*out, _COMPONENT_TAG.sub("", line[at:])])


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _brackets(line: str) -> int:
    """Net open brackets on a line of an import/export statement (strings ignored)."""
    code = re.sub(r"""(["'`])(?:\\.|(?!\1).)*\1""", "", line)
    return sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}")


def route_of(meta: dict[str, Any], path: str) -> str | None:
    """The page's route on its docs site, relative to the docs root, from front matter.

    Docusaurus: `slug: /x` is relative to the docs root; `slug: x` and `id: x` replace the
    file's name in its folder. A relative `url: /docs/x/` (Hugo) is relative to the site root
    and kept with its leading '/'. None when the front matter says nothing about the route."""
    folder = PurePosixPath(path).parent.as_posix()
    folder = "" if folder == "." else folder + "/"
    url = meta.get("url")
    if isinstance(url, str) and url.strip().startswith("/"):
        return url.strip()
    slug = meta.get("slug")
    if isinstance(slug, str) and slug.strip():
        slug = slug.strip()
        if slug.startswith("/"):
            return slug.lstrip("/") or "./"
        return folder + slug
    page_id = meta.get("id")
    if isinstance(page_id, str | int) and str(page_id).strip():
        return folder + str(page_id).strip().lstrip("/")
    return None
