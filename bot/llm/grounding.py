"""The grounding check: keep a generated sentence only if a shown passage says it.

Support of a sentence by a passage mixes two signals, both cheap on a CPU:
- meaning: the best cosine between the sentence and any sentence of the passage,
  with the packaged embedding model (already loaded for retrieval);
- wording: the share of the sentence's content words that occur in the passage.
`SUPPORT_THRESHOLD` was calibrated on the dev sets (scripts/calibrate_grounding.py).
A sentence citing a passage that does not support it is re-pointed at one that does,
or dropped; citation numbers that point at no passage are removed. A sentence that would notify
people (<!channel>, @here) is dropped whatever its support: passages are data, and a
planted "post <!channel>" must not become the bot's words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.engine.terms import folded_terms as terms
from bot.engine.types import Source
from bot.ingest.units import split_units

SUPPORT_THRESHOLD = 0.66  # dev sets: keeps 93.1% of supported claims, drops 96.4% of unsupported
DENSE_WEIGHT = 0.5
_CITES = re.compile(r"\s*\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)|(?<=\])\s+(?=[A-Z`\"'(*])")
_BULLET = re.compile(r"^(\s*(?:[-*+•]|\d+[.)])\s+)")
# A generated sentence may never notify anyone, even if a passage "asks" for it.
_NOTIFY = re.compile(r"<[!@#]|[@!](here|channel|everyone)\b", re.IGNORECASE)


@dataclass
class Unit:
    """One sentence, list item or code block of the generated answer."""

    text: str  # without citation markers
    cites: list[int]
    prefix: str = ""  # list marker kept for display
    new_line: bool = False  # starts a new line in the answer
    code: bool = False
    score: float = 0.0
    best: int = 0  # 1-based passage that supports it best
    kept: bool = False


@dataclass
class Checked:
    """The checked answer and what the check did to it."""

    text: str
    units: list[Unit] = field(default_factory=list)
    invalid_cites: int = 0  # [n] with n outside 1..len(sources)

    @property
    def kept(self) -> int:
        return sum(u.kept for u in self.units)

    @property
    def dropped(self) -> int:
        return sum(not u.kept for u in self.units)


def split_answer(text: str) -> list[Unit]:
    """Sentences (and list items, code blocks) with the citations they carry."""
    units: list[Unit] = []
    lines = text.strip().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip().startswith("```"):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), None)
            end = len(lines) - 1 if end is None else end
            block = "\n".join(lines[i : end + 1])
            units.append(Unit(text=block, cites=[], new_line=True, code=True))
            i = end + 1
            continue
        i += 1
        if not line.strip():
            continue
        bullet = _BULLET.match(line)
        prefix = bullet.group(1).lstrip() if bullet else ""
        body = line[bullet.end() :] if bullet else line.strip()
        for n, sentence in enumerate(s for s in _SENTENCE_END.split(body) if s.strip()):
            cites = [int(x) for m in _CITES.finditer(sentence) for x in m.group(1).split(",")]
            clean = _CITES.sub("", sentence).strip()
            units.append(
                Unit(text=clean, cites=cites, prefix=prefix if n == 0 else "", new_line=n == 0)
            )
    return units


def support_matrix(embedder, claims: Sequence[str], sources: Sequence[Source]) -> np.ndarray:
    """scores[i, j]: how well passage j supports claim i (0..1)."""
    pieces: list[list[str]] = [
        [u.text for u in split_units(s.text) if terms(u.text)] or [s.text] for s in sources
    ]
    flat = [p for ps in pieces for p in ps]
    vectors = embedder.encode([*claims, *flat])
    claim_vecs, piece_vecs = vectors[: len(claims)], vectors[len(claims) :]
    scores = np.zeros((len(claims), len(sources)), dtype=np.float32)
    start = 0
    for j, (source, ps) in enumerate(zip(sources, pieces, strict=True)):
        dense = (claim_vecs @ piece_vecs[start : start + len(ps)].T).max(axis=1)
        start += len(ps)
        words = terms(source.heading + " " + source.text)
        for i, claim in enumerate(claims):
            wanted = terms(claim)
            lexical = len(wanted & words) / len(wanted) if wanted else 0.0
            scores[i, j] = DENSE_WEIGHT * max(0.0, float(dense[i])) + (1 - DENSE_WEIGHT) * lexical
    return scores


def check(
    text: str, sources: Sequence[Source], embedder, threshold: float = SUPPORT_THRESHOLD
) -> Checked:
    """Drop unsupported sentences, fix or drop their citations, rebuild the text."""
    units = split_answer(text)
    invalid = sum(1 for u in units for n in u.cites if not 1 <= n <= len(sources))
    claims = [u for u in units if terms(u.text) and not _NOTIFY.search(u.text)]
    if claims and sources:
        scores = support_matrix(embedder, [u.text for u in claims], sources)
        for unit, row in zip(claims, scores, strict=True):
            valid = sorted({n for n in unit.cites if 1 <= n <= len(sources)})
            supporting = [n for n in valid if row[n - 1] >= threshold]
            unit.best = int(row.argmax()) + 1
            unit.score = float(row.max())
            if supporting:
                unit.cites, unit.kept = supporting, True
            elif unit.score >= threshold:  # said by another shown passage: cite that one
                unit.cites, unit.kept = [unit.best], True
    for unit in units:
        if not unit.kept:
            unit.cites = []
    return Checked(text=render_units(units), units=units, invalid_cites=invalid)


def render_units(units: Sequence[Unit]) -> str:
    """Kept units back into Markdown: lines and list items as written, sentences of one
    line run together (a dropped sentence leaves no gap)."""
    lines: list[str] = []
    joinable = False  # the last line is prose the next sentence of its line may continue
    for unit in (u for u in units if u.kept):
        cite = "".join(f" [{n}]" for n in unit.cites) if not unit.code else ""
        body, end = unit.text, ""
        if cite and body[-1:] in ".!?:":
            body, end = body[:-1], body[-1]
        piece = f"{unit.prefix}{body}{cite}{end}"
        if joinable and not (unit.code or unit.prefix or unit.new_line):
            lines[-1] = f"{lines[-1]} {piece}"
        else:
            lines.append(piece)
        joinable = not unit.code
    return "\n".join(lines).strip()
