"""The direct answer: a few cited units (sentences, list items, rows, code) chosen across
the shown passages.

Each unit is followed by `[n]`, the number of the source it came from. A comparison's lead
covers both sides. The kind of question (bot/engine/shape.py) shapes the lead: a how-to
leads with the command or steps, a pasted error with a cause or fix rather than the error's
own words, a definition, reason or verdict with a sentence (not a label or a code line).
A lead unit that introduces something ("…as follows:") brings what follows it, a code block
intact or a list, or is left out; one that refers back ("The second is…") comes after what
it refers to; a pointer ("For details, see X.") never leads (bot/engine/context.py). A
how-to's command or steps come before further prose, and a code block counts against its
own room, not the sentences'.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.engine.comparison import NO_COMPARISON, Comparison
from bot.engine.context import (
    BLOCK_CHARS,
    completion,
    introduces,
    referred_to,
    says_something,
)
from bot.engine.question import Question
from bot.engine.rerank import Evidence, ScoredUnit
from bot.engine.shape import (
    Shape,
    aside_heading,
    defines,
    gives_reason,
    gives_verdict,
    refers_back,
    states_cause,
    states_fix,
)
from bot.engine.terms import folded_terms

LEAD_CHARS = 320  # the direct answer: about three sentences
LEAD_SLACK = 0.12  # a unit joins the lead if it scores within this of the best one
NEIGHBOUR_BONUS = 0.06  # the sentence after a chosen one often finishes its thought
FOLLOW_THROUGH_BONUS = 0.06  # … more so when it goes on from it or states what to do
SIBLING_BONUS = 0.06  # so does another item of the same list or paragraph
COMPARING_BONUS = 0.06  # for "X vs Y": a sentence that sets X against Y, not one naming both
SOURCE_WEIGHT = 0.5  # how much a unit's passage rank counts when choosing lead units
SHAPE_BONUS = 0.04  # a unit of the kind the question asks for (a command, a fix, a definition)
ECHO_PENALTY = 0.15  # a unit that repeats the pasted error instead of explaining it
ECHO_SHARE = 0.5  # … holds at least this share of the error's words
AFTER_ECHO_BONUS = 0.04  # what follows the error's description in the docs often fixes it
_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_PROSE_ONLY: tuple[Shape, ...] = ("definition", "why", "yesno")  # a sentence, not code
_FOLLOWS_THROUGH: tuple[Shape, ...] = ("howto", "error", "other")  # a problem, then its fix


@dataclass(frozen=True)
class Pick:
    source: int  # 1-based source number
    evidence: Evidence
    unit: ScoredUnit
    follows: tuple[ScoredUnit, ...] = ()  # what the unit introduces ("…:"), shown with it


@dataclass(frozen=True)
class _Asked:
    """What the question's kind asks of a lead unit."""

    shape: Shape = "other"
    pasted: frozenset[str] = frozenset()  # folded words of a pasted error

    def echo(self, text: str) -> float:
        """Share of the pasted error's words that `text` repeats."""
        return len(self.pasted & folded_terms(text)) / len(self.pasted) if self.pasted else 0.0

    def bonus(self, unit: ScoredUnit) -> float:
        text, kind = unit.unit.text, unit.unit.kind
        if self.shape == "howto":  # a command, a step, or what introduces them
            return SHAPE_BONUS if kind == "code" or introduces(unit) else 0.0
        if self.shape == "error":
            echo = self.echo(text)
            if echo >= ECHO_SHARE:
                return -ECHO_PENALTY * echo
            return SHAPE_BONUS * (2 * states_fix(text) or states_cause(text))
        said = {"definition": defines, "why": gives_reason, "yesno": gives_verdict}
        check = said.get(self.shape)
        return SHAPE_BONUS if check and kind != "code" and check(text) else 0.0


def _follows_through(unit: ScoredUnit) -> bool:
    """A sentence that goes on from the one before it ("However, if this…") or says what to
    do: after a sentence restating the asker's problem, it is usually the answer."""
    text = unit.unit.text
    return unit.unit.kind == "sentence" and (refers_back(text) or states_fix(text))


def _value(ev: Evidence, unit: ScoredUnit, top: float, cmp: Comparison = NO_COMPARISON) -> float:
    value = unit.score + SOURCE_WEIGHT * (ev.score - top)
    if cmp and _compares(cmp, unit.unit.text):
        value += COMPARING_BONUS
    return value


@lru_cache(maxsize=1024)
def _compares(cmp: Comparison, text: str) -> bool:
    """Cached: choosing a lead values each unit many times over."""
    return cmp.compares(text, folded_terms(text))


def _lead_text(unit: ScoredUnit) -> str:
    text = _LIST_MARKER.sub("", unit.unit.text) if unit.unit.kind == "item" else unit.unit.text
    if len(text) > LEAD_CHARS + 80:
        text = text[:LEAD_CHARS].rsplit(" ", 1)[0] + " …"
    return text


def _brings_block(pick: Pick) -> bool:
    """A code block, or an introduction to a code block or list."""
    if pick.unit.unit.kind == "code":
        return True
    follows = completion(pick.evidence, pick.unit) if introduces(pick.unit) else None
    return follows is not None and follows[0].unit.kind in ("code", "item")


def _prose_length(pick: Pick) -> int:
    """What a pick adds to the lead's sentences; a code block or list has its own room."""
    length = 0 if pick.unit.unit.kind == "code" else len(_lead_text(pick.unit))
    if pick.follows and pick.follows[0].unit.kind == "sentence":
        length += len(pick.follows[0].unit.text)
    return length


def _with_lead_in(pick: Pick) -> Pick:
    """A code block chosen alone comes after the sentence that leads into it, if any."""
    at = pick.unit.index
    if pick.unit.unit.kind != "code" or at == 0:
        return pick
    before = pick.evidence.units[at - 1]
    if before.unit.section != pick.unit.unit.section or before.unit.kind not in (
        "sentence",
        "item",
    ):
        return pick
    return Pick(pick.source, pick.evidence, before, (pick.unit,))


def choose_lead(shown: Sequence[Evidence], question: Question | None = None) -> list[Pick]:
    """The best units across the shown passages, within about LEAD_CHARS, shaped by the
    kind of question (`question.shape`, see bot/engine/shape.py)."""
    if not shown:
        return []
    top = shown[0].score
    cmp = question.comparison if question else NO_COMPARISON
    asked = _Asked(
        question.shape if question else "other",
        frozenset(folded_terms(question.error)) if question else frozenset(),
    )
    prose = asked.shape in _PROSE_ONLY
    code_room = BLOCK_CHARS if asked.shape == "howto" else LEAD_CHARS  # a how-to's command
    pool = [
        Pick(n, ev, u)
        for n, ev in enumerate(shown, start=1)
        for u in ev.units
        if says_something(u)
        and (u.unit.kind != "code" or len(u.unit.text) <= code_room)
        and not (prose and u.unit.kind in ("code", "row"))
    ]
    if not pool:
        return []
    before: dict[tuple[int, int], int] = {}  # a unit's predecessor, skipping labels and pointers
    for a, b in zip(pool, pool[1:], strict=False):
        if a.evidence is b.evidence:
            before[(id(b.evidence), b.unit.index)] = a.unit.index
    echoes = {
        (id(p.evidence), p.unit.index) for p in pool if asked.echo(p.unit.unit.text) >= ECHO_SHARE
    }
    if len(echoes) < len(pool):  # the error's own words tell the user nothing new
        pool = [p for p in pool if (id(p.evidence), p.unit.index) not in echoes]
    if asked.shape == "howto":  # a test, summary or prerequisite isn't the task's own steps
        doing = [p for p in pool if not aside_heading(_heading(p))]
        pool = doing or pool

    def shaped(p: Pick) -> float:
        v = _value(p.evidence, p.unit, top, cmp) + asked.bonus(p.unit)
        if any((id(p.evidence), i) in echoes for i in range(p.unit.index)):
            v += AFTER_ECHO_BONUS  # the same passage, after the error's own words
        return v

    chosen: list[Pick] = []
    covered: set[tuple[int, int]] = set()  # (passage, unit index) already in the lead
    used, block_room = 0, BLOCK_CHARS
    best_value = max(shaped(p) for p in pool)
    while pool:

        def value(p: Pick) -> float:
            v = shaped(p)
            same_passage = [c.unit for c in chosen if c.evidence is p.evidence]
            if any(c.index == before.get((id(p.evidence), p.unit.index)) for c in same_passage):
                v += NEIGHBOUR_BONUS
                if asked.shape in _FOLLOWS_THROUGH and _follows_through(p.unit):
                    v += FOLLOW_THROUGH_BONUS
            if any(c.unit.block == p.unit.unit.block for c in same_passage):
                v += SIBLING_BONUS
            return v

        pick = max(pool, key=value)
        if chosen and value(pick) < best_value - LEAD_SLACK:
            break
        if asked.shape == "howto" and block_room == BLOCK_CHARS:  # the command before more prose
            near = [p for p in pool if value(p) >= best_value - LEAD_SLACK and _brings_block(p)]
            pick = max(near, key=value, default=pick)
        pool.remove(pick)
        pick = _with_lead_in(pick)
        key = (id(pick.evidence), pick.unit.index)
        if key in covered:
            if not pick.follows:
                continue
            lead_in = next(c for c in chosen if c.evidence is pick.evidence and c.unit is pick.unit)
            size = len(pick.follows[0].unit.text)
            if not lead_in.follows and size <= block_room:  # its lead-in is in: add the block
                chosen[chosen.index(lead_in)] = pick
                block_room = 0
                covered.add((id(pick.evidence), pick.follows[0].index))
            continue
        if introduces(pick.unit) and not pick.follows:
            follows = completion(pick.evidence, pick.unit)
            if follows is None:
                continue  # never an introduction without what it introduces
            pick = Pick(pick.source, pick.evidence, pick.unit, follows)
        context = [
            Pick(pick.source, pick.evidence, u)
            for u in referred_to(pick.evidence, pick.unit)
            if (id(pick.evidence), u.index) not in covered
        ]
        length = sum(_prose_length(p) for p in (*context, pick))
        if chosen and used + length > LEAD_CHARS:
            continue  # code and lists count against their own room, below
        if pick.follows and pick.follows[0].unit.kind != "sentence":
            size = sum(len(u.unit.text) for u in pick.follows)
            if block_room < size:
                continue  # one block or list in a lead, not several
            block_room = 0
        elif pick.unit.unit.kind == "code":
            if block_room < len(pick.unit.unit.text):
                continue
            block_room = 0
        shown_twice = [c for c in chosen if c.evidence is pick.evidence and c.unit in pick.follows]
        for c in shown_twice:  # chosen alone before: now shown after its introduction
            chosen.remove(c)
            used -= _prose_length(c)
        chosen.extend([*context, pick])
        covered |= {
            (id(p.evidence), u.index) for p in (*context, pick) for u in (p.unit, *p.follows)
        }
        used += length
    for side in cmp.sides:  # a comparison answers for both sides
        covered_side = any(side & folded_terms(p.unit.unit.text) for p in chosen)
        if covered_side:
            continue
        others = [
            Pick(n, ev, u)
            for n, ev in enumerate(shown, start=1)
            for u in ev.units
            if side & folded_terms(u.unit.text) and u.unit.kind != "code" and not introduces(u)
        ]
        if others:
            chosen.append(max(others, key=lambda p: _value(p.evidence, p.unit, top)))
    return _reading_order(chosen, shaped)


def _heading(pick: Pick) -> str:
    return pick.unit.unit.section or pick.evidence.chunk.heading.split(" › ")[-1]


def _reading_order(picks: list[Pick], value: Callable[[Pick], float]) -> list[Pick]:
    """Best section first; inside a section, the document's own order."""
    groups: dict[tuple[int, str], list[Pick]] = {}
    for pick in picks:
        groups.setdefault((pick.source, pick.unit.unit.section), []).append(pick)
    ordered = sorted(groups.values(), key=lambda g: -max(value(p) for p in g))
    return [p for group in ordered for p in sorted(group, key=lambda p: p.unit.index)]


def lead_text(picks: Sequence[Pick]) -> str:
    """The picks as Markdown, each unit followed by its citation; sentences run on in one
    paragraph, a code block or list stays a block of its own (copyable, newlines kept)."""
    paragraphs: list[str] = []
    line: list[str] = []

    def block(text: str) -> None:
        if line:
            paragraphs.append(" ".join(line))
            line.clear()
        paragraphs.append(text)

    for pick in picks:
        cite = f"[{pick.source}]"
        if pick.unit.unit.kind == "code":
            block(f"{cite}\n{pick.unit.unit.text}")  # a citation never trails a fence
        else:
            line.append(f"{_lead_text(pick.unit).rstrip()} {cite}")
        follows = pick.follows
        if follows and follows[0].unit.kind == "code":
            block(follows[0].unit.text)
        elif follows and follows[0].unit.block != pick.unit.unit.block:
            block("\n".join(u.unit.text for u in follows))
        elif follows:
            line.append(f"{_lead_text(follows[0]).rstrip()} {cite}")
    if line:
        paragraphs.append(" ".join(line))
    return "\n\n".join(paragraphs)
