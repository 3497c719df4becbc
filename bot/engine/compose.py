"""Writing the answer: a direct answer of a few cited sentences, then trimmed passages.

The lead is extractive: the units (sentences, list items, rows) that score best against the
question, each followed by `[n]`, the number of the source it came from. A comparison's
lead covers both sides. Each supporting passage is cut at unit boundaries around its best
unit, within its own section, and never ends on a dangling "…as follows:".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.engine.comparison import NO_COMPARISON, Comparison
from bot.engine.rerank import Evidence, ScoredUnit
from bot.engine.terms import folded_terms

LEAD_CHARS = 320  # the direct answer: about three sentences
LEAD_SLACK = 0.12  # a unit joins the lead if it scores within this of the best one
NEIGHBOUR_BONUS = 0.06  # the sentence after a chosen one often finishes its thought
SIBLING_BONUS = 0.06  # so does another item of the same list or paragraph
COMPARING_BONUS = 0.06  # for "X vs Y": a sentence that sets X against Y, not one naming both
SOURCE_WEIGHT = 0.5  # how much a unit's passage rank counts when choosing lead units
PASSAGE_CHARS = 480
PASSAGES_SHOWN = 2
_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


@dataclass(frozen=True)
class Pick:
    source: int  # 1-based source number
    evidence: Evidence
    unit: ScoredUnit


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


def _says_something(unit: ScoredUnit) -> bool:
    """A bare label ("Advantages:", "**Steps:**") introduces an answer but isn't one."""
    text = unit.unit.text.strip().strip("*_ ")
    return not (text.endswith(":") and len(text.split()) < 5)


def choose_lead(shown: Sequence[Evidence], cmp: Comparison = NO_COMPARISON) -> list[Pick]:
    """The best units across the shown passages, within about LEAD_CHARS."""
    if not shown:
        return []
    top = shown[0].score
    pool = [
        Pick(n, ev, u)
        for n, ev in enumerate(shown, start=1)
        for u in ev.units
        if _says_something(u) and (u.unit.kind != "code" or len(u.unit.text) <= LEAD_CHARS)
    ]
    if not pool:
        return []
    chosen: list[Pick] = []
    used = 0
    best_value = max(_value(p.evidence, p.unit, top, cmp) for p in pool)
    while pool:

        def value(p: Pick) -> float:
            v = _value(p.evidence, p.unit, top, cmp)
            same_passage = [c.unit for c in chosen if c.evidence is p.evidence]
            if any(c.index == p.unit.index - 1 for c in same_passage):
                v += NEIGHBOUR_BONUS
            if any(c.unit.block == p.unit.unit.block for c in same_passage):
                v += SIBLING_BONUS
            return v

        pick = max(pool, key=value)
        if chosen and value(pick) < best_value - LEAD_SLACK:
            break
        length = len(_lead_text(pick.unit))
        pool.remove(pick)
        if chosen and used + length > LEAD_CHARS:
            continue
        chosen.append(pick)
        used += length
    for side in cmp.sides:  # a comparison answers for both sides
        covered = any(side & folded_terms(p.unit.unit.text) for p in chosen)
        if covered:
            continue
        others = [
            Pick(n, ev, u)
            for n, ev in enumerate(shown, start=1)
            for u in ev.units
            if side & folded_terms(u.unit.text) and u.unit.kind != "code"
        ]
        if others:
            chosen.append(max(others, key=lambda p: _value(p.evidence, p.unit, top)))
    return _reading_order(chosen, top, cmp)


def _reading_order(picks: list[Pick], top: float, cmp: Comparison) -> list[Pick]:
    """Best section first; inside a section, the document's own order."""
    groups: dict[tuple[int, str], list[Pick]] = {}
    for pick in picks:
        groups.setdefault((pick.source, pick.unit.unit.section), []).append(pick)
    ordered = sorted(
        groups.values(), key=lambda g: -max(_value(p.evidence, p.unit, top, cmp) for p in g)
    )
    return [p for group in ordered for p in sorted(group, key=lambda p: p.unit.index)]


def lead_text(picks: Sequence[Pick]) -> str:
    """The picks as one paragraph, each unit followed by its citation."""
    parts = []
    for pick in picks:
        text = _lead_text(pick.unit).rstrip()
        parts.append(f"{text} [{pick.source}]")
    return " ".join(parts)


def excerpt(ev: Evidence, budget: int = PASSAGE_CHARS) -> str:
    """Whole units around the passage's best unit, from its own section, within budget."""
    best = ev.best_unit
    if best is None:
        return ev.chunk.text[:budget].rsplit(" ", 1)[0]
    units = [u for u in ev.units if u.unit.section == best.unit.section]
    at = units.index(best)
    start, end = at, at + 1
    size = len(best.unit.text)
    while True:  # read on first, then back
        grew = False
        if end < len(units) and size + len(units[end].unit.text) <= budget:
            size += len(units[end].unit.text)
            end += 1
            grew = True
        elif start > 0 and size + len(units[start - 1].unit.text) <= budget:
            start -= 1
            size += len(units[start].unit.text)
            grew = True
        if not grew:
            break
    while end - start > 1 and units[end - 1].unit.text.rstrip().endswith(":"):
        end -= 1  # never stop on an introduction to something not shown
    return _join(units[start:end], best)


def _join(units: Sequence[ScoredUnit], best: ScoredUnit) -> str:
    out = ""
    previous = None
    for u in units:
        text = u.unit.text
        if len(units) == 1 and len(text) > PASSAGE_CHARS * 2 and u.unit.kind != "code":
            text = text[: PASSAGE_CHARS * 2].rsplit(" ", 1)[0] + " …"
        if previous is None:
            out = text
        elif (
            u.unit.kind == "sentence"
            and previous.unit.kind == "sentence"
            and (u.unit.block == previous.unit.block)
        ):
            out += " " + text
        elif u.unit.kind in ("item", "row") and previous.unit.block == u.unit.block:
            out += "\n" + text
        else:
            out += "\n\n" + text
        previous = u
    return out


def label(ev: Evidence) -> str:
    """What a passage is called: its own section heading, else its chunk's last heading."""
    return ev.section or ev.chunk.heading.split(" › ")[-1]


def compose(
    lead: str,
    shown: Sequence[Evidence],
    passages: int = PASSAGES_SHOWN,
    unknown: Sequence[str] = (),
) -> str:
    """Lead, then the first few supporting passages, each under its numbered label. A
    question naming what no doc mentions hears so first (`unknown`)."""
    parts = [unknown_note(unknown)] if unknown else []
    parts += [lead] if lead else []
    for n, ev in enumerate(shown[:passages], start=1):
        parts.append(f"**[{n}] {label(ev)}**  \n{excerpt(ev)}")  # hard line break
    return "\n\n".join(parts)


def decline_text(topics: Sequence[str], unknown: Sequence[str] = ()) -> str:
    """Why we won't answer, and where the user might look instead."""
    if unknown:
        said = f"My docs never mention {_names(unknown)}, so I won't guess."
    else:
        said = "I don't have anything on that in my knowledge base, so I won't guess."
    listed = ", ".join(topics[:5])
    return f"{said} Nearest topics I know: {listed}." if listed else said


def unknown_note(unknown: Sequence[str]) -> str:
    return f"_My docs never mention {_names(unknown)}; the closest I have:_"


def _names(words: Sequence[str]) -> str:
    quoted = [f"“{w}”" for w in words[:3]]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
