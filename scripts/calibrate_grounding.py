"""Calibrate the grounding check's SUPPORT_THRESHOLD on the dev sets.

    python scripts/calibrate_grounding.py                      # the article dev sets
    python scripts/calibrate_grounding.py --corpus INDEX_DIR   # plus corpus-dev.jsonl

For every answerable dev question the engine retrieves the passages it would show.
Supported claims are what a faithful answer says: the shown sentence holding the
question's hint, verbatim and compressed (every third content word dropped, as a model
shortens), and the hint itself. Unsupported claims are the hint sentences of other
questions whose documents are not shown: on-topic statements the shown passages do not
make. Each claim gets the check's score (best support over the shown passages); the
script prints the error rates per threshold and the one with the best balanced accuracy.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parents[1]
EVAL = REPO.parent / "shared" / "eval"
ARTICLE_SETS = ("article-dev.jsonl", "article-paraphrases-dev.jsonl", "followups-dev.jsonl")


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def hints(item: dict) -> list[str]:
    found = list(item.get("hints") or [])
    return found + ([item["answer_hint"]] if item.get("answer_hint") else [])


def claims_for(item: dict, sources) -> list[str]:
    """Supported claims: shown sentences holding a hint (verbatim, compressed), the hint."""
    from bot.engine.terms import folded_terms as terms
    from bot.ingest.units import split_units

    out: list[str] = []
    for hint in hints(item):
        for source in sources:
            for unit in (u.text for u in split_units(source.text)):
                if hint.lower() in unit.lower() and len(unit) < 400:
                    out.append(unit)
                    words = unit.split()
                    content = [w for w in words if terms(w)]
                    drop = set(content[2::3])
                    out.append(" ".join(w for w in words if w not in drop))
                    break
        if len(hint.split()) >= 3:
            out.append(hint[0].upper() + hint[1:] + ".")
    return out


def collect(engine, items: list[dict]) -> list[tuple[dict, list, list[str]]]:
    rows = []
    for item in items:
        if item.get("kind") == "unanswerable" or not hints(item):
            continue
        answer = engine.answer(item["question"], history=item.get("history", []))
        if answer.answered:
            rows.append((item, answer.sources, claims_for(item, answer.sources)))
    return rows


def score_rows(embedder, rows, pool: list[str]) -> tuple[list[float], list[float]]:
    """Scores of each row's own claims, and of pooled claims its shown passages lack."""
    from bot.llm.grounding import support_matrix

    positives: list[float] = []
    negatives: list[float] = []
    for _item, sources, claims in rows:
        texts = " ".join(s.text for s in sources).lower()
        others = [c for c in pool if c.lower() not in texts and c not in claims]
        if claims:
            positives += support_matrix(embedder, claims, sources).max(axis=1).tolist()
        if others:
            step = max(1, len(others) // 12)
            negatives += support_matrix(embedder, others[::step], sources).max(axis=1).tolist()
    return positives, negatives


def main(argv: list[str] | None = None) -> int:
    from bot.config import from_env
    from bot.engine.engine import Engine
    from bot.llm.grounding import SUPPORT_THRESHOLD

    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, help="an index of ../shared/corpus (INDEX_DIR)")
    args = parser.parse_args(argv)
    base = from_env()
    sets = [(replace(base, knowledge_dirs=(REPO / "knowledge",)), ARTICLE_SETS)]
    if args.corpus:
        shared = REPO.parent / "shared" / "corpus"
        corpus = replace(base, knowledge_dirs=(shared,), index_dir=args.corpus)
        sets.append((corpus, ("corpus-dev.jsonl",)))
    collected = []
    for settings, files in sets:
        engine = Engine.open(settings, notify=lambda _m: None)
        items = [item for name in files for item in load(EVAL / name)]
        collected.append((settings.knowledge_dir.name, engine, collect(engine, items)))
    # unsupported claims: verbatim hint sentences of every set, where not shown
    pool = sorted({c for _, _, rows in collected for _, _, cs in rows for c in cs[::2]})
    positives: list[float] = []
    negatives: list[float] = []
    for name, engine, rows in collected:
        p, n = score_rows(engine.embedder, rows, pool)
        print(f"{name}: {len(p)} supported, {len(n)} unsupported claims")
        positives += p
        negatives += n
    print("\nthreshold  supported-kept  unsupported-dropped  balanced")
    best = (0.0, 0.0)
    for step in range(30, 86, 2):
        t = step / 100
        kept = sum(s >= t for s in positives) / len(positives)
        dropped = sum(s < t for s in negatives) / len(negatives)
        balanced = (kept + dropped) / 2
        best = max(best, (balanced, t))
        print(f"  {t:.2f}       {kept:6.1%}          {dropped:6.1%}          {balanced:.3f}")
    enough = 0.95 * len(negatives)
    strict = next(
        (t / 100 for t in range(30, 96) if sum(s < t / 100 for s in negatives) >= enough), None
    )
    print(f"\nbest balanced accuracy {best[0]:.3f} at {best[1]:.2f}")
    print(f"lowest threshold dropping >= 95% of unsupported claims: {strict}")
    print(f"in use: SUPPORT_THRESHOLD = {SUPPORT_THRESHOLD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
