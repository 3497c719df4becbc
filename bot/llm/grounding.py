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
import threading
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
# A link's target is not a claim: the sentence is judged on its words.
_LINK_TARGET = re.compile(
    r"\[([^\]\n]*)\]\([^)\s]*\)|<[a-z][a-z0-9+.-]*:[^>|\s]+\|?([^>]*)>|https?://\S+"
)


def claim_text(text: str) -> str:
    """The sentence without link targets: `[label](url)` → label."""
    return _LINK_TARGET.sub(lambda m: m.group(1) or m.group(2) or "", text)


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


class Support:
    """Scores claims against the shown passages; the passages are split and embedded
    once, so a streamed answer can be checked sentence by sentence at little cost."""

    def __init__(self, embedder, sources: Sequence[Source]) -> None:
        self.embedder, self.sources = embedder, list(sources)
        self._lock = threading.Lock()
        self._ready: tuple[list[int], np.ndarray, list[set[str]]] | None = None

    def prepare(self) -> None:
        """Embed the passages' sentences (idempotent; may run on another thread)."""
        with self._lock:
            if self._ready is not None:
                return
            pieces: list[list[str]] = [
                [u.text for u in split_units(s.text) if terms(u.text)] or [s.text]
                for s in self.sources
            ]
            flat = [p for ps in pieces for p in ps]
            vectors = np.asarray(self.embedder.encode(flat)) if flat else np.zeros((0, 1))
            words = [terms(s.heading + " " + s.text) for s in self.sources]
            self._ready = ([len(ps) for ps in pieces], vectors, words)

    def scores(self, claims: Sequence[str]) -> np.ndarray:
        """scores[i, j]: how well passage j supports claim i (0..1)."""
        self.prepare()
        assert self._ready is not None
        sizes, piece_vecs, words = self._ready
        scores = np.zeros((len(claims), len(self.sources)), dtype=np.float32)
        if not claims or not self.sources:
            return scores
        claim_vecs = np.asarray(self.embedder.encode(list(claims)))
        start = 0
        for j, size in enumerate(sizes):
            dense = (claim_vecs @ piece_vecs[start : start + size].T).max(axis=1)
            start += size
            for i, claim in enumerate(claims):
                wanted = terms(claim)
                lexical = len(wanted & words[j]) / len(wanted) if wanted else 0.0
                scores[i, j] = (
                    DENSE_WEIGHT * max(0.0, float(dense[i])) + (1 - DENSE_WEIGHT) * lexical
                )
        return scores


def support_matrix(embedder, claims: Sequence[str], sources: Sequence[Source]) -> np.ndarray:
    """scores[i, j]: how well passage j supports claim i (0..1)."""
    return Support(embedder, sources).scores(claims)


def judge_units(
    units: Sequence[Unit], support: Support, threshold: float = SUPPORT_THRESHOLD
) -> None:
    """Mark each unit kept (with citations that support it) or dropped, in place."""
    n_sources = len(support.sources)
    claims = [u for u in units if terms(claim_text(u.text)) and not _NOTIFY.search(u.text)]
    if claims and n_sources:
        scores = support.scores([claim_text(u.text) for u in claims])
        for unit, row in zip(claims, scores, strict=True):
            valid = sorted({n for n in unit.cites if 1 <= n <= n_sources})
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


def invalid_cites(units: Sequence[Unit], n_sources: int) -> int:
    return sum(1 for u in units for n in u.cites if not 1 <= n <= n_sources)


def check(
    text: str, sources: Sequence[Source], embedder, threshold: float = SUPPORT_THRESHOLD
) -> Checked:
    """Drop unsupported sentences, fix or drop their citations, rebuild the text."""
    units = split_answer(text)
    invalid = invalid_cites(units, len(sources))
    judge_units(units, Support(embedder, sources), threshold)
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
