"""Markdown to Slack mrkdwn (and to plain text) through a real parser, markdown-it-py.

Every piece of text that came from a document or a user is escaped (&, <, >) and
'@here'-style words get a word joiner, so nothing can broadcast, ping or disguise a
link. Links are emitted by us as <url|label>, only for http(s) URLs; a label that looks
like a different URL is dropped so the real address shows. Citation markers `[n]`
become links to source n when it has a URL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

FENCE = "```"
_BROADCAST_RE = re.compile(r"@(here|channel|everyone)\b", re.IGNORECASE)
_CITATION_RE = re.compile(r"\[(\d{1,2})\]")
_BARE_URL_RE = re.compile(r"https?://[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]]")
_TAG_RE = re.compile(r"^(?:</?[A-Za-z][\w-]*(?:\s[^>]*)?/?>|<!--.*-->)$", re.S)
_URLISH_RE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*://|www\.|[\w-]+(?:\.[\w-]+)+(?:/|\s*$))", re.I)


_USER = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#C[A-Z0-9]+(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(?:subteam\^[A-Z0-9]+|[a-z]+)(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_EMOJI = re.compile(r":[a-z0-9_+\-']+:")


def plain_question(raw: str) -> str:
    """What a user typed in Slack, as plain text for the engine: mentions, channel refs,
    broadcasts, link markup and emoji stripped, entities decoded."""
    text = _USER.sub(" ", raw)
    text = _CHANNEL.sub(lambda m: f" {m.group(1) or ''} ", text)
    text = _SPECIAL.sub(lambda m: f" {m.group(1) or ''} ", text)
    text = _LINK.sub(lambda m: f" {m.group(2) or m.group(1)} ", text)
    text = _EMOJI.sub(" ", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split())


def escape(text: str) -> str:
    """Escape Slack control characters; '@here' gets a word joiner so it can never ping."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST_RE.sub(lambda m: "@\u2060" + m.group(1), text)


def safe_url(url: str | None) -> str | None:
    """An http(s) URL made safe to put inside <...>, or None."""
    if not url or not re.match(r"^https?://[^\s]+$", url, re.IGNORECASE):
        return None
    return escape(url).replace("|", "%7C")


def link(url: str | None, label: str) -> str:
    """<url|label> with both escaped; just the label when the URL is not http(s)."""
    target = safe_url(url)
    label = " ".join(label.split())
    if not target:
        return escape(label)
    if not label or (_URLISH_RE.match(label) and label.rstrip("/") != (url or "").rstrip("/")):
        return f"<{target}>"  # a URL-looking label could disguise where the link goes
    return f"<{target}|{escape(label).replace('|', '¦')}>"


def _next(tokens: list[Token], n: int) -> str:
    return tokens[n + 1].content if n + 1 < len(tokens) else ""


@lru_cache(maxsize=1)
def parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    md.validateLink = lambda url: True  # type: ignore[method-assign]  # `link` keeps http(s)
    return md


class _Renderer:
    """Walks markdown-it's token stream; `plain` drops all markup (for fallback text)."""

    def __init__(self, citations: Mapping[int, str], plain: bool) -> None:
        self.citations = citations
        self.plain = plain

    # ---- inline ------------------------------------------------------------------------

    def text(self, content: str) -> str:
        if self.plain:
            return content
        out, last = [], 0
        for m in _BARE_URL_RE.finditer(content):
            if m.start() < last:
                continue
            end = m.end()
            if content[end : end + 1] == ")" and m.group(0).count("(") > m.group(0).count(")"):
                end += 1  # https://en.wikipedia.org/wiki/Foo_(bar)
            out += [self._cite(content[last : m.start()]), link(content[m.start() : end], "")]
            last = end
        out.append(self._cite(content[last:]))
        return "".join(out)

    def _cite(self, content: str) -> str:
        def repl(m: re.Match[str]) -> str:
            url = self.citations.get(int(m.group(1)))
            return link(url, m.group(0)) if url else escape(m.group(0))

        parts = _CITATION_RE.split(content)
        out = []
        for i, part in enumerate(parts):
            if i % 2:
                out.append(repl(_CITATION_RE.match(f"[{part}]")))  # type: ignore[arg-type]
            else:
                out.append(escape(part))
        return "".join(out)

    def inline(self, tokens: list[Token]) -> str:
        out: list[str] = []
        stack: list[tuple[str, int]] = []  # open links: (href, position in out)
        marks = {"strong": "*", "em": "_", "s": "~"}
        skip = False  # inside an autolink we print ourselves
        for n, tok in enumerate(tokens):
            kind = tok.type
            if skip and kind in ("text", "link_close"):
                skip = kind != "link_close"
                continue
            if kind == "text":
                out.append(self.text(tok.content) if not stack else tok.content)
            elif kind == "code_inline":
                content = tok.content.replace("`", "'")
                out.append(content if self.plain or stack else f"`{escape(content)}`")
            elif kind in ("softbreak", "hardbreak"):
                out.append(" " if kind == "softbreak" else "\n")
            elif kind.endswith(("_open", "_close")) and kind.rsplit("_", 1)[0] in marks:
                if not self.plain and not stack:
                    out.append(marks[kind.rsplit("_", 1)[0]])
            elif kind == "link_open" and tok.markup == "autolink" and "|" in _next(tokens, n):
                raw = f"<{_next(tokens, n)}>"  # Slack's own <url|label> syntax: show it inert
                out.append(raw if self.plain else escape(raw))
                skip = True
            elif kind == "link_open":
                stack.append((str(tok.attrGet("href") or ""), len(out)))
            elif kind == "link_close" and stack:
                href, at = stack.pop()
                label = "".join(out[at:])
                out[at:] = [label if self.plain else link(href, label)]
            elif kind == "image":
                alt = tok.content or "image"
                src = str(tok.attrGet("src") or "")
                out.append(alt if self.plain else link(src, f"🖼 {alt}"))
            elif kind == "html_inline":
                if not _TAG_RE.match(tok.content):  # e.g. <!here>: shown, inert
                    out.append(tok.content if self.plain else escape(tok.content))
            else:
                out.append(self.text(tok.content) if tok.content else "")
        return "".join(out)

    # ---- blocks ------------------------------------------------------------------------

    def render_markdown(self, markdown: str) -> str:
        tokens = parser().parse(markdown)
        blocks: list[str] = []
        prefixes: list[str] = []  # list item / quote prefixes for the current nesting
        counters: list[int | None] = []
        pending_item: str | None = None
        in_list = False  # the last block is a list still open
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            kind = tok.type
            if kind == "bullet_list_open":
                counters.append(None)
            elif kind == "ordered_list_open":
                counters.append(int(tok.attrGet("start") or 1))
            elif kind in ("bullet_list_close", "ordered_list_close"):
                counters.pop()
                in_list = bool(counters)
            elif kind == "list_item_open":
                depth = "    " * (len(counters) - 1)
                n = counters[-1]
                pending_item = f"{depth}{'•' if n is None else f'{n}.'} "
                if n is not None:
                    counters[-1] = n + 1
            elif kind == "blockquote_open":
                prefixes.append("" if self.plain else "&gt; ")
            elif kind == "blockquote_close":
                prefixes.pop()
            elif kind == "heading_open":
                text = self.inline(tokens[i + 1].children or [])
                blocks.append(text if self.plain else f"*{text.strip('*')}*")
                in_list = False
                i += 3
                continue
            elif kind == "inline":
                text = self.inline(tok.children or [])
                lead = "".join(prefixes)
                if pending_item is not None:
                    text, pending_item = pending_item + text, None
                elif counters:  # a list item's second paragraph: indent under the bullet
                    text = "    " * len(counters) + text
                text = "\n".join(lead + line for line in text.split("\n"))
                if counters and in_list:
                    blocks[-1] += "\n" + text
                else:
                    blocks.append(text)
                in_list = bool(counters)
                i += 1
                continue
            elif kind in ("fence", "code_block"):
                code = tok.content.rstrip("\n")
                blocks.append(code if self.plain else f"{FENCE}\n{escape(code)}\n{FENCE}")
                in_list = False
            elif kind == "table_open":
                i, table = self.table(tokens, i)
                blocks.append(table)
                in_list = False
                continue
            elif kind == "hr":
                blocks.append("" if self.plain else "───")
            elif kind == "html_block":
                text = re.sub(r"<[^>]+>", " ", tok.content).strip()
                if text:
                    blocks.append(" ".join(text.split()) if self.plain else escape(text))
            i += 1
        return "\n\n".join(b for b in blocks if b.strip()).strip()

    def table(self, tokens: list[Token], i: int) -> tuple[int, str]:
        """A table as an aligned monospace block (Slack has no tables in mrkdwn)."""
        rows: list[list[str]] = []
        while tokens[i].type != "table_close":
            tok = tokens[i]
            if tok.type == "tr_open":
                rows.append([])
            elif tok.type == "inline" and rows:
                plain = _Renderer(self.citations, True).inline(tok.children or [])
                rows[-1].append(" ".join(plain.split()))
            i += 1
        width = max((len(r) for r in rows), default=0)
        rows = [r + [""] * (width - len(r)) for r in rows]
        sizes = [min(40, max(len(r[c]) for r in rows)) for c in range(width)]
        lines = [" | ".join(cell[:40].ljust(sizes[c]) for c, cell in enumerate(r)) for r in rows]
        if len(lines) > 1:
            lines.insert(1, "-+-".join("-" * s for s in sizes))
        body = "\n".join(line.rstrip() for line in lines)
        return i + 1, body if self.plain else f"{FENCE}\n{escape(body)}\n{FENCE}"


def to_mrkdwn(markdown: str, citations: Mapping[int, str] | None = None) -> str:
    """Markdown to escaped Slack mrkdwn; `citations` maps [n] to a source URL."""
    return _Renderer(citations or {}, plain=False).render_markdown(markdown)


def to_plain(markdown: str) -> str:
    """Markdown to plain text with no markup at all (not escaped)."""
    return _Renderer({}, plain=True).render_markdown(markdown)
