"""`opsbot eval`: answer quality on question files shaped like ../shared/eval/*.jsonl.

Each line: `question`, optional `history` (earlier user turns of the thread), `gold` (paths
relative to the knowledge root that holds them) or `hints` (phrases a correct passage
contains), `kind` ("unanswerable" must be declined, or its `absent` names reported as
unknown; figures are also given per kind) and `mixed` (false: only meaningful with the
article alone, skipped when several roots are indexed).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import ConfigError
from bot.engine.engine import Engine
from bot.engine.rerank import Weights
from bot.engine.retriever import Mode
from bot.engine.types import Answer

LEAD_CHARS = 400
_CITATION = re.compile(r"\[\d+\]")


@dataclass
class Row:
    id: str
    question: str
    kind: str
    answered: bool
    rank: int | None
    lead: bool | None
    confidence: float
    top: str


@dataclass
class KindStats:
    """One `kind` of question (howto, troubleshooting, unanswerable…)."""

    questions: int = 0
    hits: int = 0
    reciprocal_ranks: float = 0.0
    leads: int = 0
    lead_questions: int = 0
    handled: int = 0  # unanswerable: declined, or its absent names reported as unknown
    declined: int = 0

    def line(self, kind: str) -> str:
        n = max(self.questions, 1)
        if kind == "unanswerable":
            return f"  {kind:<16} {self.questions:>3}  handled {self.handled}/{self.questions}"
        lead = f"{self.leads}/{self.lead_questions}" if self.lead_questions else "-"
        return (
            f"  {kind:<16} {self.questions:>3}  hit {self.hits / n:.2f}  "
            f"MRR {self.reciprocal_ranks / n:.2f}  lead {lead}  declined {self.declined}"
        )


@dataclass
class EvalReport:
    k: int
    mode: str
    answerable: int = 0
    hits: int = 0
    reciprocal_ranks: float = 0.0
    lead_questions: int = 0
    leads: int = 0
    unanswerable: int = 0
    declined_correctly: int = 0
    false_declines: int = 0
    skipped: int = 0
    misses: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    kinds: dict[str, KindStats] = field(default_factory=dict)

    @property
    def hit_rate(self) -> float:
        return self.hits / self.answerable if self.answerable else 0.0

    @property
    def mrr(self) -> float:
        return self.reciprocal_ranks / self.answerable if self.answerable else 0.0

    @property
    def lead_rate(self) -> float:
        return self.leads / self.lead_questions if self.lead_questions else 0.0

    def to_json(self, table: bool = False) -> dict:
        out = {
            "k": self.k,
            "mode": self.mode,
            f"hit@{self.k}": round(self.hit_rate, 4),
            "mrr": round(self.mrr, 4),
            "lead": round(self.lead_rate, 4),
            "declined_correctly": f"{self.declined_correctly}/{self.unanswerable}",
            "false_declines": f"{self.false_declines}/{self.answerable}",
            "false_decline_rate": round(self.false_declines / max(self.answerable, 1), 4),
            "skipped": self.skipped,
            "misses": self.misses,
            "by_kind": {kind: stats.__dict__ for kind, stats in sorted(self.kinds.items())},
        }
        if table:
            out["questions"] = [row.__dict__ for row in self.rows]
        return out

    def lines(self, table: bool = False) -> list[str]:
        out = [
            f"mode={self.mode}  questions={self.answerable + self.unanswerable}"
            + (f"  skipped={self.skipped} (mixed: false)" if self.skipped else ""),
            f"hit@{self.k}: {self.hit_rate:.3f} ({self.hits}/{self.answerable})",
            f"MRR: {self.mrr:.3f}",
            f"lead: {self.lead_rate:.3f} ({self.leads}/{self.lead_questions})",
            f"declined correctly: {self.declined_correctly}/{self.unanswerable}",
            f"false declines: {self.false_declines}/{self.answerable} "
            f"({self.false_declines / max(self.answerable, 1):.1%})",
        ]
        if self.kinds:
            out.append("by kind:")
            out += [stats.line(kind) for kind, stats in sorted(self.kinds.items())]
        if self.misses:
            out.append("misses:")
            out += [f"  - {m}" for m in self.misses]
        if table:
            out.append(f"{'id':<8} {'ans':<4} {'rank':<5} {'lead':<5} {'conf':<6} question")
            for r in self.rows:
                lead = "-" if r.lead is None else ("yes" if r.lead else "no")
                out.append(
                    f"{r.id:<8} {'yes' if r.answered else 'no':<4} {r.rank or '-'!s:<5} "
                    f"{lead:<5} {r.confidence:<6.3f} {r.question[:70]}"
                )
        return out


def load_questions(path: Path) -> list[dict]:
    """Question dicts; every bad line is reported with its own line number."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read eval file {path}: {exc}") from None
    items: list[dict] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise ConfigError(f"{path}:{number}: not valid JSON ({exc})") from None
        if not isinstance(item, dict) or not isinstance(item.get("question"), str):
            raise ConfigError(f'{path}:{number}: each line needs a "question" string')
        items.append(item)
    if not items:
        raise ConfigError(f"{path}: no questions in the file")
    return items


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", _CITATION.sub(" ", text).lower()).strip()


def _matches_gold(path: str, gold: set[str]) -> bool:
    """Gold paths are relative to their own root; with several roots, paths carry its name."""
    return path in gold or path.split("/", 1)[-1] in gold


def first_relevant_rank(item: dict, answer: Answer) -> int | None:
    """1-based rank of the first source matching the gold paths, or containing a hint."""
    gold = set(item.get("gold") or [])
    hints = [_norm(h) for h in (item.get("hints") or [])]
    for rank, source in enumerate(answer.sources, start=1):
        if gold and _matches_gold(source.path, gold):
            return rank
        if not gold and hints and any(h in _norm(source.text) for h in hints):
            return rank
    return None


def _hints(item: dict) -> list[str]:
    """`hints`, else the corpus sets' single `answer_hint` phrase."""
    hints = item.get("hints") or ([item["answer_hint"]] if item.get("answer_hint") else [])
    return [h for h in hints if isinstance(h, str)]


def lead_has_hint(item: dict, answer: Answer) -> bool | None:
    """Does what the user reads first (LEAD_CHARS of the answer) hold a hint?"""
    hints = [_norm(h) for h in _hints(item)]
    if not hints:
        return None
    # markup goes before counting characters; "_" parts identifiers as `_norm` does for hints
    # ("out_of_order_time_window" must meet the hint written the same way)
    opening = _norm(re.sub(r"[*`#>]+|(?<!\w)_|_(?!\w)", " ", answer.answer)[:LEAD_CHARS])
    return any(h in opening for h in hints)


def handled(item: dict, answer: Answer) -> bool:
    """An unanswerable question is handled when declined, or when the names it lists as
    `absent` (tools the docs never mention) are all reported as `unknown`."""
    if not answer.answered:
        return True
    absent = {str(name).lower() for name in item.get("absent") or []}
    return bool(absent) and absent <= {name.lower() for name in answer.unknown}


def evaluate(
    engine: Engine,
    questions: list[dict],
    k: int,
    mode: Mode = "hybrid",
    *,
    several_roots: bool = False,
    weights: Weights | None = None,
) -> EvalReport:
    report = EvalReport(k=k, mode=mode)
    for item in questions:
        if several_roots and item.get("mixed") is False:
            report.skipped += 1
            continue
        history = [h for h in item.get("history") or [] if isinstance(h, str)]
        answer = engine.answer(item["question"], history=history, k=k, mode=mode, weights=weights)
        label = f"{item.get('id', '?')}: {item['question'][:80]}"
        top = answer.sources[0].path if answer.sources else "nothing"
        row = Row(
            str(item.get("id", "?")),
            item["question"],
            str(item.get("kind", "")),
            answer.answered,
            None,
            None,
            answer.top_score,
            top,
        )
        report.rows.append(row)
        stats = report.kinds.setdefault(row.kind or "(none)", KindStats())
        stats.questions += 1
        if item.get("kind") == "unanswerable":
            report.unanswerable += 1
            if handled(item, answer):
                report.declined_correctly += 1
                stats.handled += 1
            else:
                report.misses.append(f"{label} — answered (confidence {answer.top_score:.3f})")
            continue
        report.answerable += 1
        if not answer.answered:
            stats.declined += 1
            report.false_declines += 1
            report.misses.append(f"{label} — declined (confidence {answer.top_score:.3f})")
        row.rank = first_relevant_rank(item, answer)
        if row.rank is None:
            report.misses.append(f"{label} — not in top {k} (top: {top})")
        else:
            report.hits += 1
            report.reciprocal_ranks += 1.0 / row.rank
            stats.hits += 1
            stats.reciprocal_ranks += 1.0 / row.rank
        row.lead = lead_has_hint(item, answer) if answer.answered else False
        if _hints(item):
            report.lead_questions += 1
            report.leads += bool(row.lead)
            stats.lead_questions += 1
            stats.leads += bool(row.lead)
            if not row.lead:
                report.misses.append(f"{label} — no hint in the first {LEAD_CHARS} characters")
    return report
