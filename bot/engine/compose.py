"""Writing the answer: the direct answer (bot/engine/lead.py), then trimmed passages.

Each supporting passage is cut at unit boundaries around its best unit not already in the
lead, within its own section, and never ends on a dangling "…as follows:".
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.engine.lead import Pick
from bot.engine.rerank import Evidence, ScoredUnit

PASSAGE_CHARS = 480
PASSAGES_SHOWN = 2


def excerpt(ev: Evidence, budget: int = PASSAGE_CHARS, skip: frozenset[int] = frozenset()) -> str:
    """Whole units around the passage's best unit, from its own section, within budget;
    units in `skip` (indices, already in the lead) are never repeated. Empty when the
    section has nothing left to show."""
    best = ev.best_unit
    if best is None:
        return ev.chunk.text[:budget].rsplit(" ", 1)[0]
    section = [u for u in ev.units if u.unit.section == best.unit.section]
    left = [u for u in section if u.index not in skip]
    if not left:
        return ""
    best = max(left, key=lambda u: u.score)
    at = section.index(best)  # the run of units not in the lead around the best one
    start = max((i + 1 for i, u in enumerate(section[:at]) if u.index in skip), default=0)
    end = min(
        (i for i, u in enumerate(section) if i > at and u.index in skip), default=len(section)
    )
    units = section[start:end]
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
    picks: Sequence[Pick] = (),
    unknown: Sequence[str] = (),
) -> str:
    """Lead, then the first few supporting passages, each under its numbered label; a
    passage shows none of the lead's units (`picks`), and is left out if that's all it had.
    A question naming what no doc mentions hears so first (`unknown`)."""
    parts = [unknown_note(unknown)] if unknown else []
    parts += [lead] if lead else []
    for n, ev in enumerate(shown[:passages], start=1):
        skip = frozenset(u.index for p in picks if p.evidence is ev for u in (p.unit, *p.follows))
        text = excerpt(ev, skip=skip)
        if text.strip():
            parts.append(f"**[{n}] {label(ev)}**  \n{text}")  # hard line break
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
