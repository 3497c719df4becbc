"""The gate between the model and every reader: only checked sentences get through.

The model's text is buffered; each sentence (list item, code block) is released only
once it is complete, its links to hosts no source uses are removed, and the grounding
check has kept it. What the gate emits is always a prefix of the final checked answer,
so a streamed message never needs a correcting edit, and raw model text (a planted
instruction, a phishing link) never reaches Slack or a terminal, not even for a moment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import urlsplit

from bot.engine.types import Source
from bot.llm.grounding import (
    SUPPORT_THRESHOLD,
    Checked,
    Support,
    Unit,
    invalid_cites,
    judge_units,
    render_units,
    split_answer,
)

LINK_REMOVED = "(link removed)"
# [label](target "title") and ![alt](target): the label stays, the target is judged
_MD_LINK = re.compile(r"(!?)\[([^\]\n]*)\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'][^\"'\n]*[\"'])?\s*\)")
# <scheme:target> and Slack's own <scheme:target|label>
_ANGLE_LINK = re.compile(r"<([a-z][a-z0-9+.-]*:[^>|\s]+)(?:\|([^>\n]*))?>", re.IGNORECASE)
# a bare address: scheme://… or www.…
_BARE = re.compile(r"(?:\b[a-z][a-z0-9+.-]*://|\bwww\.)[^\s<>\"'`)\]]*[^\s<>\"'`)\].,;:!?]", re.I)


def url_host(url: str) -> str:
    """The lowercase host name of an absolute URL (or a www. address), else ''."""
    url = url.strip()
    if url.lower().startswith("www."):
        url = "//" + url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return ""
    if parts.scheme and parts.scheme.lower() not in ("http", "https"):
        return ""
    return host.lower()


def allowed_hosts(sources: Sequence[Source], bases: Iterable[str] = ()) -> frozenset[str]:
    """The knowledge's own hosts: its base URLs (KNOWLEDGE_URLS) and the shown sources'
    URLs (front matter `url:` or a base URL)."""
    urls = [*bases, *(s.url for s in sources if s.url)]
    return frozenset(h for h in map(url_host, urls) if h)


def rewrite_links(text: str, hosts: frozenset[str]) -> tuple[str, int]:
    """Links to other hosts lose their target (a Markdown link keeps its label; a bare
    address becomes LINK_REMOVED). Returns the text and how many links were removed."""
    removed = 0

    def ok(url: str) -> bool:
        return bool(url_host(url)) and url_host(url) in hosts

    def markdown(m: re.Match[str]) -> str:
        nonlocal removed
        if ok(m.group(3)):
            return m.group(0)
        removed += 1
        return m.group(2)

    def angle(m: re.Match[str]) -> str:
        nonlocal removed
        if ok(m.group(1)):
            return m.group(0)
        removed += 1
        return m.group(2) or LINK_REMOVED

    def bare(m: re.Match[str]) -> str:
        nonlocal removed
        if ok(m.group(0)):
            return m.group(0)
        removed += 1
        return LINK_REMOVED

    text = _MD_LINK.sub(markdown, text)
    text = _ANGLE_LINK.sub(angle, text)
    text = _BARE.sub(bare, text)
    return text, removed


class Gate:
    """Feed it the model's deltas; `on_text` receives only checked text, in order."""

    def __init__(
        self,
        support: Support,
        on_text: Callable[[str], None] | None = None,
        *,
        hosts: frozenset[str] = frozenset(),
        threshold: float = SUPPORT_THRESHOLD,
    ) -> None:
        self.support, self.on_text, self.hosts, self.threshold = support, on_text, hosts, threshold
        self.raw = ""
        self.units: list[Unit] = []  # judged, in order
        self.emitted = ""  # everything passed to on_text
        self.invalid = 0
        self.links_removed = 0
        self.diverged = False  # the checked text stopped extending what was emitted

    def feed(self, delta: str) -> None:
        """Buffer `delta`; release every unit that can no longer grow."""
        self.raw += delta
        units = split_answer(self.raw)
        self._release(units[len(self.units) : -1])

    def close(self) -> Checked:
        """The last unit is complete: check it and return the whole checked answer."""
        units = split_answer(self.raw)
        self._release(units[len(self.units) :])
        text = render_units(self.units)
        return Checked(text=text, units=self.units, invalid_cites=self.invalid)

    def _release(self, units: Sequence[Unit]) -> None:
        if not units:
            return
        self.invalid += invalid_cites(units, len(self.support.sources))
        for unit in units:
            unit.text, removed = rewrite_links(unit.text, self.hosts)
            self.links_removed += removed
        judge_units(units, self.support, self.threshold)
        self.units.extend(units)
        text = render_units(self.units)
        if self.diverged or not text.startswith(self.emitted):
            self.diverged = True  # never expected; the final message then replaces the stream
            return
        delta, self.emitted = text[len(self.emitted) :], text
        if delta and self.on_text is not None:
            self.on_text(delta)
