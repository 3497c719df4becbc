"""Answer units: the sentences, list items, table rows and code blocks of a chunk.

A unit is the grain a direct answer is made of, and the grain of the second ranking stage:
each unit gets its own vector at ingest (cached by content hash, like chunk vectors), so a
question is matched against single statements, not only against a whole passage.

A chunk may pack small sibling sections, each introduced by a markdown heading line; a
unit keeps the heading it sits under, so an answer found there is labelled by its own
section, not by the neighbour it was packed with. The split is deterministic: the engine
re-splits a chunk's text at question time and gets the same units, in the same order, as
ingest embedded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HEADING_LINE = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^(`{3,}|~{3,})")
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[A-Z0-9`\"'(\[*_])")
MIN_SENTENCE_CHARS = 25  # shorter sentences ("Yes.", "See below.") join the next one


@dataclass(frozen=True)
class Unit:
    """One answerable statement of a chunk, with where it sits in the chunk's text."""

    text: str  # as written (markdown kept, whitespace collapsed)
    section: str  # the heading it sits under inside the chunk ("" = the chunk's own heading)
    kind: str  # "sentence", "item", "row" or "code"
    block: int  # index of the markdown block it came from: units of one block read on
    start: int  # character span in the chunk's text
    end: int


_BLANK = re.compile(r"\n[ \t]*\n")


def _blocks(text: str) -> list[tuple[int, int]]:
    """Spans of markdown blocks separated by blank lines; a fenced code block stays whole."""
    spans: list[tuple[int, int]] = []
    pos, start, fence = 0, None, None
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if fence is None and not stripped:
            if start is not None:
                spans.append((start, pos))
                start = None
        else:
            if start is None:
                start = pos
            opened = _FENCE.match(stripped)
            if opened and fence is None:
                fence = opened.group(1)[:3]
            elif opened and stripped.startswith(fence or "\0"):
                fence = None
        pos += len(line)
    if start is not None:
        spans.append((start, pos))
    return [(a, a + len(text[a:b].rstrip())) for a, b in spans]


def _sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans inside text[start:end]; very short sentences join the next one."""
    cuts = [start, *(m.end() for m in _SENTENCE_END.finditer(text, start, end)), end]
    spans: list[tuple[int, int]] = []
    carry: int | None = None
    for a, b in zip(cuts, cuts[1:], strict=False):
        a = carry if carry is not None else a
        if b - a < MIN_SENTENCE_CHARS and b != end:
            carry = a
            continue
        carry = None
        spans.append((a, b))
    short_last = spans and len(text[spans[-1][0] : spans[-1][1]].strip()) < MIN_SENTENCE_CHARS
    if short_last and len(spans) > 1:  # a short last sentence joins the one before
        spans[-2:] = [(spans[-2][0], spans[-1][1])]
    return spans


def _line_spans(text: str, start: int, end: int, joins: re.Pattern[str] | None) -> list:
    """Line spans; with `joins`, a line not matching it continues the previous one."""
    spans: list[list[int]] = []
    pos = start
    for line in text[start:end].splitlines(keepends=True):
        if spans and joins is not None and not joins.match(line):
            spans[-1][1] = pos + len(line)
        else:
            spans.append([pos, pos + len(line)])
        pos += len(line)
    return [(a, b) for a, b in spans]


def _unit(text: str, span: tuple[int, int], section: str, kind: str, block: int) -> Unit | None:
    a, b = span
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    shown = text[a:b] if kind == "code" else " ".join(text[a:b].split())
    return Unit(shown, section, kind, block, a, b) if shown else None


def split_units(text: str) -> list[Unit]:
    """Units of one chunk's text, in reading order."""
    units: list[Unit | None] = []
    section = ""
    for index, (start, end) in enumerate(_blocks(text)):
        block = text[start:end]
        first = block.split("\n", 1)[0]
        heading = HEADING_LINE.match(first.strip())
        if heading:
            section = heading.group(2).strip()
            if "\n" not in block:
                continue
            start += len(first) + 1  # a heading line glued to its text
            block = text[start:end]
            first = block.split("\n", 1)[0]
        if _FENCE.match(block.strip()):
            units.append(_unit(text, (start, end), section, "code", index))
        elif block.lstrip().startswith("|"):
            for span in _line_spans(text, start, end, None):
                row = text[span[0] : span[1]].strip()
                if row and not set(row) <= set("|-: "):
                    units.append(_unit(text, span, section, "row", index))
        elif _ITEM.match(first):
            for span in _line_spans(text, start, end, _ITEM):
                units.append(_unit(text, span, section, "item", index))
        else:
            for span in _sentence_spans(text, start, end):
                units.append(_unit(text, span, section, "sentence", index))
    return [u for u in units if u is not None]
