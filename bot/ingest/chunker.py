"""Heading-aware chunking of a `Document` into `Chunk`s that fit the embedding model.

Every chunk satisfies `count_tokens(chunk.embed_text) <= max_tokens - 2` (the model
adds [CLS] and [SEP]). Small sibling sections are packed together with their own
headings kept as markdown heading lines; big sections are split by block, then a
too-big block by list item / table row / code line, then sentence, then word.
No text is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

from bot.documents import Chunk, Document, Section

SEPARATOR = " › "
SPECIAL_TOKENS = 2
SMALL_SECTION_TOKENS = 48  # sections under this many text tokens may join the next sibling

Fits = Callable[[str], bool]

_FENCE_OPEN = re.compile(r"^(`{3,}|~{3,})[^\n]*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+")


class _Budget:
    """Token budget for text under one heading (optionally wrapped, e.g. in a code fence).

    WordPiece counts are additive over whitespace-joined parts, so packing sums cached
    per-unit counts; every finished piece is then checked with one exact count, and
    re-packed with exact counts only if the estimate was wrong.
    """

    def __init__(
        self,
        heading: str,
        limit: int,
        count: Callable[[str], int],
        wrap: tuple[str, str] = ("", ""),
        cache: dict[str, int] | None = None,
    ) -> None:
        self.heading, self.limit, self.count, self.wrap = heading, limit, count, wrap
        self._cache = {} if cache is None else cache
        self.room = limit - sum(self.cost(part) for part in (heading, *wrap) if part)

    def cost(self, text: str) -> int:
        if text not in self._cache:
            self._cache[text] = self.count(text)
        return self._cache[text]

    def fits(self, text: str) -> bool:
        return self.count(f"{self.heading}\n\n{self.wrap[0]}{text}{self.wrap[1]}") <= self.limit

    def wrapped(self, before: str, after: str) -> _Budget:
        return _Budget(self.heading, self.limit, self.count, (before, after), self._cache)


def chunk_document(
    doc: Document, max_tokens: int, count_tokens: Callable[[str], int]
) -> list[Chunk]:
    """Split `doc` into chunks whose embed_text fits `max_tokens` including special tokens."""
    limit = max_tokens - SPECIAL_TOKENS
    if limit < 8:
        raise ValueError(f"max_tokens must be at least {8 + SPECIAL_TOKENS}, got {max_tokens}")
    if count_tokens("") != 0:  # e.g. a tokenizer.json that pads every encoding to 128
        raise ValueError("count_tokens('') must be 0: disable the tokenizer's padding")
    cache: dict[str, int] = {}

    def cost(text: str) -> int:
        if text not in cache:
            cache[text] = count_tokens(text)
        return cache[text]

    chunks: list[Chunk] = []
    for base, anchor, text_blocks in _groups(doc, limit, cost):
        url = f"{doc.url}#{anchor}" if doc.url and anchor and "#" not in doc.url else doc.url
        heading = _fit_heading(SEPARATOR.join((doc.title, *base)), limit, cost)
        budget = _Budget(heading, limit, count_tokens, cache=cache)
        # a block too big to fit is split; its last piece may share a chunk with the next block
        pieces = _pack(text_blocks, "\n\n", budget, partial(_split_block, budget=budget))
        chunks.extend(Chunk(doc.path, doc.title, heading, text, url) for text in pieces)
    return chunks


def _groups(
    doc: Document, limit: int, cost: Callable[[str], int]
) -> list[tuple[tuple[str, ...], str, list[str]]]:
    """(shared heading path, anchor, blocks) per chunk group; small sections join following
    siblings. The anchor is the first section's heading id: where the passage starts.

    Token sums are estimates (additive counts); the packer checks every chunk exactly.
    """
    sections = [s for s in doc.sections if s.blocks]
    groups: list[tuple[tuple[str, ...], str, list[str]]] = []
    i = 0
    while i < len(sections):
        first = sections[i]
        base, blocks = first.headings, list(first.blocks)
        size = sum(map(cost, blocks))
        j = i + 1
        while j < len(sections) and size < SMALL_SECTION_TOKENS:
            nxt = sections[j]
            if j == i + 1 and nxt.headings[:-1] == first.headings:  # parent intro + child
                new_base, head = first.headings, []
            elif j == i + 1 and first.headings and nxt.headings[:-1] == first.headings[:-1]:
                new_base, head = first.headings[:-1], _heading_line(first)  # siblings
            elif j > i + 1 and nxt.headings[:-1] == base and len(nxt.headings) == len(base) + 1:
                new_base, head = base, []
            else:
                break
            added = [*head, *_heading_line(nxt), *nxt.blocks]
            new_size = size + sum(map(cost, added))
            if cost(SEPARATOR.join((doc.title, *new_base))) + new_size > limit:
                break
            base, blocks, size = new_base, head + blocks + added[len(head) :], new_size
            j += 1
        groups.append((base, first.anchor, blocks))
        i = j
    return groups


def _heading_line(section: Section) -> list[str]:
    return [f"{'#' * min(len(section.headings) + 1, 6)} {section.headings[-1]}"]


def _fit_heading(heading: str, limit: int, count: Callable[[str], int]) -> str:
    """Shorten a pathological heading so at least half the budget is left for text."""
    if count(heading) <= limit // 2:
        return heading
    words = heading.split()
    while len(words) > 1 and count(" ".join(words) + " …") > limit // 2:
        words = words[: len(words) // 2] if len(words) > 64 else words[:-1]
    return " ".join(words) + " …"


def _pack(
    units: list[str], joiner: str, budget: _Budget, split_unit: Callable[[str], list[str]]
) -> list[str]:
    """Join consecutive units into as few pieces as fit, balanced in size.

    A unit that does not fit on its own goes to `split_unit`; its parts become pieces of
    their own, except the last, which may join the following units. Runs of fitting units are
    cut into the minimum number of pieces, with the largest piece as small as possible
    (so a section does not end in a tiny leftover chunk).
    """
    out: list[str] = []
    run: list[str] = []

    def close() -> None:
        costs = [budget.cost(unit) for unit in run]
        for start, end in _balanced(costs, budget.room):
            piece = joiner.join(run[start:end])
            if budget.fits(piece):
                out.append(piece)
            else:  # the counter is not additive after all
                out.extend(_pack_exact(run[start:end], joiner, budget.fits, split_unit))
        run.clear()

    for unit in units:
        if budget.cost(unit) > budget.room:
            close()
            parts = split_unit(unit)
            out.extend(parts[:-1])
            run.extend(parts[-1:])  # the last part may share a piece with what follows
        else:
            run.append(unit)
    close()
    return out


def _greedy(costs: list[int], room: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start, used = 0, 0
    for i, cost in enumerate(costs):
        if i > start and used + cost > room:
            spans.append((start, i))
            start, used = i, 0
        used += cost
    if start < len(costs):
        spans.append((start, len(costs)))
    return spans


def _balanced(costs: list[int], room: int) -> list[tuple[int, int]]:
    """Greedy spans with the smallest per-piece room that keeps the greedy piece count."""
    spans = _greedy(costs, room)
    if len(spans) < 2:
        return spans
    lo, hi = max(max(costs), -(-sum(costs) // len(spans))), room
    if lo >= hi:  # nothing to balance (or a unit that does not fit: keep greedy)
        return spans
    while lo < hi:
        mid = (lo + hi) // 2
        if len(_greedy(costs, mid)) <= len(spans):
            hi = mid
        else:
            lo = mid + 1
    return _greedy(costs, lo)


def _pack_exact(
    units: list[str], joiner: str, fits: Fits, split_unit: Callable[[str], list[str]]
) -> list[str]:
    """Fallback for counters that are not additive: grow each piece while it truly fits."""
    out: list[str] = []
    grown = False
    for unit in units:
        if grown and fits(out[-1] + joiner + unit):
            out[-1] += joiner + unit
        elif fits(unit):
            out.append(unit)
            grown = True
        else:
            out.extend(split_unit(unit))
            grown = False
    return out


def _split_block(block: str, budget: _Budget) -> list[str]:
    """Pieces of one too-big block, each fitting on its own."""
    lines = block.split("\n")
    opening = _FENCE_OPEN.match(block + "\n")
    if opening and len(lines) >= 2 and lines[-1].strip() == opening.group(1):
        return _split_code(lines[0], lines[1:-1], lines[-1], budget)
    if len(lines) >= 2 and all(line.startswith("|") for line in lines):
        return _split_table(lines, budget)
    return _split_text(block, budget, 0)


def _split_code(opening: str, body: list[str], closing: str, budget: _Budget) -> list[str]:
    """Split code by lines (a huge line by words); every piece is its own fenced block."""
    inner = budget.wrapped(opening + "\n", "\n" + closing)
    if inner.room < 1:  # the fence alone does not fit: give up on fencing
        return _split_text("\n".join([opening, *body, closing]), budget, 0)
    pieces = _pack(body, "\n", inner, lambda line: _split_text(line, inner, 2))
    return [f"{opening}\n{piece}\n{closing}" for piece in pieces]


def _split_table(lines: list[str], budget: _Budget) -> list[str]:
    """Split a table by rows (a huge row by words), repeating the header in every piece."""
    has_header = len(lines) >= 3 and set(lines[1]) <= set("|-: ")
    header = "\n".join(lines[:2]) + "\n" if has_header else ""
    inner = budget.wrapped(header, "")
    if inner.room < budget.room // 2:  # header too big to repeat
        return _split_text("\n".join(lines), budget, 0)
    rows = lines[2:] if has_header else lines
    pieces = _pack(rows, "\n", inner, lambda row: _split_text(row, inner, 2))
    return [header + piece for piece in pieces]


_LEVELS = ("items", "sentences", "words", "chars")


def _units(text: str, level: str) -> tuple[list[str], str]:
    if level == "items":  # list items / lines, with their indented continuation lines
        units: list[str] = []
        for line in text.split("\n"):
            if units and (not line.strip() or line[:1] in (" ", "\t")):
                units[-1] += "\n" + line
            else:
                units.append(line)
        return units, "\n"
    if level == "sentences":
        return [s for s in _SENTENCE_END.split(text) if s], " "
    if level == "words":
        return text.split(), " "
    return list(text), ""


def _split_text(text: str, budget: _Budget, level: int) -> list[str]:
    """Split text at the coarsest level (from `level` on) that gives more than one unit."""
    for depth in range(level, len(_LEVELS)):
        units, joiner = _units(text, _LEVELS[depth])
        if len(units) > 1:
            return _pack(
                units, joiner, budget, partial(_split_text, budget=budget, level=depth + 1)
            )
    return [text]  # a single character that does not fit: nothing more to do
