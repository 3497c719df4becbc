"""Stage 2 of ranking: re-score candidates with finer evidence than one vector per chunk.

Each candidate passage is scored from
- its passage cosine (stage 1's dense signal),
- its best *unit* cosine: every sentence, list item and table row has its own vector, so a
  passage with one sentence that answers beats a passage that is vaguely about the topic,
- lexical coverage: the IDF-weighted share of the question's content words it contains,
  and the same share within its best single statement (words together in one sentence
  say more than words scattered over a page or carried by its title),
- heading coverage: the same, over its section headings,
- title coverage: the same, over its document's title (what the page is about),
- its BM25 score relative to the pool's best, with a small weight: it rewards a short page
  dense in the question's words, which the title signal balances for the long guide.
Then near-copies go, near-ties may be broken in favour of a file not yet shown, and
passages far below the best are left out instead of filling `k`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from bot.documents import Chunk
from bot.engine.comparison import with_kinds
from bot.engine.question import Question
from bot.engine.retriever import Pool
from bot.engine.terms import folded_terms
from bot.index.store import Build
from bot.ingest.units import Unit, split_units

NEAR_DUPLICATE = 0.97  # cosine between two passages above which one hides the other
COMPARING_UNITS = 3  # a passage that sets the two sides side by side this often compares them


@dataclass(frozen=True)
class Weights:
    """How stage 2 combines its evidence; a zero weight switches a signal off (ablations)."""

    passage: float = 0.35
    unit: float = 0.45
    lexical: float = 0.15
    heading: float = 0.1
    # small: BM25's length normalisation rewards a short page dense in the question's words
    # (a generated reference, a spec); a thread's follow-up still needs it (README ablation)
    bm25: float = 0.05
    cutoff: float = 0.12  # show passages within this much of the best one
    tie: float = 0.015  # a new file's passage may jump a same-file one this close
    unit_lexical: float = 0.25  # lexical weight when choosing sentences
    statement: float = 0.1  # one sentence holding the question's words, not just the page
    comparison: float = 0.1  # for "X vs Y": a passage that compares the two throughout
    # what the page is about: its title names the question's words. A long guide keeps this
    # on every section, so it doesn't lose to a short keyword-dense page for being long.
    title: float = 0.05

    @property
    def total(self) -> float:
        """Sum of the passage-score weights: scores stay on a cosine-like 0..1 scale."""
        return (
            self.passage
            + self.unit
            + self.statement
            + self.lexical
            + self.heading
            + self.bm25
            + self.comparison
            + self.title
        )

    def without(self, *signals: str) -> Weights:
        """These weights with the named signals off: unit, lexical, statement, heading,
        title, bm25, comparison, cutoff, diversity."""
        changes: dict[str, float] = {}
        for signal in signals:
            if signal == "diversity":
                changes["tie"] = 0.0
            elif signal == "cutoff":
                changes["cutoff"] = 10.0
            elif signal == "unit":
                changes["unit"] = 0.0
            elif signal in ("lexical", "heading", "bm25", "statement", "comparison", "title"):
                changes[signal] = 0.0
                if signal == "lexical":
                    changes["unit_lexical"] = 0.0
            else:
                raise ValueError(f"unknown ranking signal {signal!r}")
        return replace(self, **changes)


@dataclass(frozen=True)
class ScoredUnit:
    unit: Unit
    index: int  # position among the chunk's units
    cosine: float
    lexical: float
    named: float  # how much of the question its section's headings echo
    score: float


@dataclass
class Evidence:
    """One candidate passage after stage 2."""

    chunk_id: int
    chunk: Chunk
    score: float
    passage_cosine: float
    units: list[ScoredUnit] = field(default_factory=list)  # reading order
    coverage: float = 0.0  # lexical coverage of the question by heading + text
    terms: frozenset[str] = frozenset()  # folded words of heading + text

    @property
    def best_unit(self) -> ScoredUnit | None:
        return max(self.units, key=lambda u: u.score, default=None)

    @property
    def best_unit_cosine(self) -> float:
        return max((u.cosine for u in self.units), default=self.passage_cosine)

    @property
    def section(self) -> str:
        """The heading the best unit sits under, if the passage packs several sections."""
        best = self.best_unit
        return best.unit.section if best else ""


def score_candidates(
    index: Build,
    pool: Pool,
    question: Question,
    weights: Weights,
) -> list[Evidence]:
    """Every pool candidate with its stage-2 score, best first.

    The question's `framing` holds all its words ("what do X and Y have in common"): a section
    heading that echoes them names the section that answers. Titles are left out of that
    match; a title is shared by every section of its document. Its `comparison` holds the two
    things a comparison question names ("devops", "mlops") and what it asks about them.
    """
    terms, comparison = question.terms, question.comparison
    framing = question.framing or terms
    if not pool.candidates:
        return []
    best_bm25 = max(c.bm25 for c in pool.candidates) or 1.0
    out: list[Evidence] = []
    for cand in pool.candidates:
        chunk = index.chunks[cand.chunk_id]
        units = split_units(chunk.text)
        vectors = index.units.of(cand.chunk_id)
        cosines = (vectors @ pool.queries.T) @ pool.weights if len(vectors) else np.zeros(0)
        heading_terms = folded_terms(chunk.heading)
        title_cover = terms.coverage(folded_terms(chunk.heading.split(" › ")[0]))
        section_path = with_kinds(folded_terms(" ".join(chunk.heading.split(" › ")[1:])))
        scored: list[ScoredUnit] = []
        comparing = 0  # units that speak of both sides of a comparison
        text_terms: set[str] = set(heading_terms)
        sections: dict[str, set[str]] = {"": set()}  # a chunk's units share few sections
        for i, unit in enumerate(units[: len(cosines)]):
            own = folded_terms(unit.text)
            if unit.section not in sections:
                sections[unit.section] = with_kinds(folded_terms(unit.section))
            section_terms = sections[unit.section]
            text_terms |= own | section_terms
            comparing += comparison.compares(unit.text, own)
            lexical = terms.coverage(own | section_terms)
            named = framing.coverage(section_path | section_terms)
            cosine = float(cosines[i])
            score = cosine + weights.unit_lexical * lexical + weights.heading * named
            scored.append(ScoredUnit(unit, i, cosine, lexical, named, score))
        evidence = Evidence(
            cand.chunk_id,
            chunk,
            0.0,
            cand.dense,
            scored,
            terms.coverage(text_terms),
            frozenset(text_terms),
        )
        best = evidence.best_unit
        heading_cover = best.named if best else framing.coverage(section_path)
        evidence.score = (
            weights.passage * cand.dense
            + weights.unit * evidence.best_unit_cosine
            + weights.statement * max((u.lexical for u in scored), default=0.0)
            + weights.comparison * min(comparing, COMPARING_UNITS) / COMPARING_UNITS
            + weights.lexical * evidence.coverage
            + weights.heading * heading_cover
            + weights.bm25 * cand.bm25 / best_bm25
            + weights.title * title_cover
        ) / weights.total
        out.append(evidence)
    out.sort(key=lambda e: (-e.score, e.chunk_id))
    return out


def select(index: Build, ranked: list[Evidence], k: int, weights: Weights) -> list[Evidence]:
    """The passages worth showing: distinct, near the best, spread over files on near-ties."""
    if not ranked:
        return []
    top = ranked[0].score
    kept: list[Evidence] = []
    kept_vectors: list[np.ndarray] = []
    seen_text: set[str] = set()
    for ev in ranked:
        if ev.score < top - weights.cutoff:
            break
        text_key = " ".join(ev.chunk.text.lower().split())
        vector = index.passage_vectors([ev.chunk_id])[0]
        if text_key in seen_text:
            continue
        if kept_vectors and float(np.max(np.vstack(kept_vectors) @ vector)) > NEAR_DUPLICATE:
            continue
        seen_text.add(text_key)
        kept.append(ev)
        kept_vectors.append(vector)
    _break_ties_by_file(kept, weights.tie)
    return kept[:k]


def _break_ties_by_file(ranked: list[Evidence], tie: float) -> None:
    """Let a passage from a not-yet-shown file move ahead of a same-file one it nearly ties."""
    shown: set[str] = set()
    for i in range(len(ranked)):
        path = ranked[i].chunk.path
        if path in shown and i + 1 < len(ranked):
            nxt = ranked[i + 1]
            if nxt.chunk.path not in shown and ranked[i].score - nxt.score <= tie:
                ranked[i], ranked[i + 1] = nxt, ranked[i]
        shown.add(ranked[i].chunk.path)
