"""`opsbot eval`: retrieval quality on question files shaped like ../shared/eval/*.jsonl."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import ConfigError
from bot.engine.engine import Engine
from bot.engine.retriever import Mode
from bot.engine.types import Answer


@dataclass
class EvalReport:
    k: int
    mode: str
    answerable: int = 0
    hits: int = 0
    reciprocal_ranks: float = 0.0
    unanswerable: int = 0
    declined_correctly: int = 0
    false_declines: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def hit_rate(self) -> float:
        return self.hits / self.answerable if self.answerable else 0.0

    @property
    def mrr(self) -> float:
        return self.reciprocal_ranks / self.answerable if self.answerable else 0.0

    def to_json(self) -> dict:
        return {
            "k": self.k,
            "mode": self.mode,
            f"hit@{self.k}": round(self.hit_rate, 4),
            "mrr": round(self.mrr, 4),
            "declined_correctly": f"{self.declined_correctly}/{self.unanswerable}",
            "false_decline_rate": round(self.false_declines / max(self.answerable, 1), 4),
            "misses": self.misses,
        }

    def lines(self) -> list[str]:
        out = [
            f"mode={self.mode}  questions={self.answerable + self.unanswerable}",
            f"hit@{self.k}: {self.hit_rate:.3f} ({self.hits}/{self.answerable})",
            f"MRR: {self.mrr:.3f}",
            f"declined correctly: {self.declined_correctly}/{self.unanswerable}",
            f"false declines: {self.false_declines}/{self.answerable} "
            f"({self.false_declines / max(self.answerable, 1):.1%})",
        ]
        if self.misses:
            out.append("misses:")
            out += [f"  - {m}" for m in self.misses]
        return out


def load_questions(path: Path) -> list[dict]:
    """Question objects, one per line; any bad line is a one-line ConfigError naming it."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read eval file {path}: {exc}") from None
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise ConfigError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        question = item.get("question") if isinstance(item, dict) else None
        if not isinstance(question, str) or not question.strip():
            raise ConfigError(f'{path}:{number}: needs a non-empty "question" string')
        questions.append(item)
    if not questions:
        raise ConfigError(f"eval file {path} has no questions")
    return questions


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def first_relevant_rank(item: dict, answer: Answer) -> int | None:
    """1-based rank of the first source matching the gold paths, or containing a hint."""
    gold = set(item.get("gold") or [])
    hints = [_norm(h) for h in (item.get("hints") or [])]
    for rank, source in enumerate(answer.sources, start=1):
        if gold and source.path in gold:
            return rank
        if not gold and hints and any(h in _norm(source.text) for h in hints):
            return rank
    return None


def evaluate(engine: Engine, questions: list[dict], k: int, mode: Mode = "hybrid") -> EvalReport:
    report = EvalReport(k=k, mode=mode)
    for item in questions:
        answer = engine.answer(item["question"], k=k, mode=mode)
        label = f"{item.get('id', '?')}: {item['question'][:80]}"
        if item.get("kind") == "unanswerable":
            report.unanswerable += 1
            if answer.answered:
                report.misses.append(f"{label} — answered (score {answer.top_score:.3f})")
            else:
                report.declined_correctly += 1
            continue
        report.answerable += 1
        if not answer.answered:
            report.false_declines += 1
        rank = first_relevant_rank(item, answer)
        if rank is None:
            got = answer.sources[0].path if answer.sources else "nothing"
            report.misses.append(f"{label} — not in top {k} (top: {got})")
        else:
            report.hits += 1
            report.reciprocal_ranks += 1.0 / rank
    return report
