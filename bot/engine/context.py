"""What a unit of a passage needs around it to be read alone in a direct answer.

An introduction ("…as follows:") needs what it introduces, a sentence that refers back
("The second is…", "This means…") the sentences before it, and a bare label or a pointer
("For details, see X.") says nothing by itself. Used by bot/engine/lead.py.
"""

from __future__ import annotations

from bot.engine.rerank import Evidence, ScoredUnit
from bot.engine.shape import points_elsewhere, refers_back

BLOCK_CHARS = 600  # a code block or list that a unit introduces, shown whole
SENTENCE_CHARS = 320  # a sentence that finishes an introduction, at most
BACK_STEPS = 2  # a sentence that refers back brings at most this many before it


def introduces(unit: ScoredUnit) -> bool:
    """It ends on a colon: something follows that it announces."""
    return unit.unit.text.rstrip().rstrip("*_").endswith(":")


def says_something(unit: ScoredUnit) -> bool:
    """A bare label ("Advantages:", "**Steps:**") introduces an answer but isn't one, and
    a pointer ("For details, see X.") sends the reader elsewhere."""
    text = unit.unit.text.strip().strip("*_ ")
    return not (text.endswith(":") and len(text.split()) < 5) and not points_elsewhere(text)


def completion(ev: Evidence, unit: ScoredUnit) -> tuple[ScoredUnit, ...] | None:
    """What an introduction ("…as follows:") needs after it: the code block or list that
    follows in its section, or the next sentence. None when that is missing or too long."""
    after = [u for u in ev.units[unit.index + 1 :] if u.unit.section == unit.unit.section]
    if not after:
        return None
    nxt = after[0]
    if nxt.unit.kind == "code":
        return (nxt,) if len(nxt.unit.text) <= BLOCK_CHARS else None
    if nxt.unit.kind == "item" and nxt.unit.block != unit.unit.block:
        items: list[ScoredUnit] = []
        for u in after:
            if (
                u.unit.block != nxt.unit.block
                or sum(len(i.unit.text) for i in items) + len(u.unit.text) > BLOCK_CHARS
            ):
                break
            items.append(u)
        return tuple(items) or None
    if nxt.unit.kind in ("sentence", "item") and not introduces(nxt):
        return (nxt,) if len(nxt.unit.text) <= SENTENCE_CHARS else None
    return None


def referred_to(ev: Evidence, unit: ScoredUnit) -> list[ScoredUnit]:
    """The sentences before `unit` that it leans on ("The second is…" needs the first),
    up to BACK_STEPS of them, within its section; in reading order."""
    before: list[ScoredUnit] = []
    at = unit
    while len(before) < BACK_STEPS and at.unit.kind == "sentence" and refers_back(at.unit.text):
        prev = next((u for u in reversed(ev.units[: at.index]) if says_something(u)), None)
        if prev is None or prev.unit.section != at.unit.section or prev.unit.kind != "sentence":
            break
        before.insert(0, prev)
        at = prev
    return before
