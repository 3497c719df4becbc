"""Calibrate the answer/decline decision (DECLINE_THRESHOLD and the signal weights).

Step 1, per knowledge set-up, collect every dev question's answerability signals:

    python scripts/calibrate.py collect ../shared/eval/article-dev.jsonl \\
        ../shared/eval/article-paraphrases-dev.jsonl ../shared/eval/followups-dev.jsonl \\
        --knowledge-dir knowledge --out /tmp/signals-article.jsonl
    python scripts/calibrate.py collect ../shared/eval/*.jsonl --knowledge-dir knowledge \\
        --knowledge-dir ../shared/corpus --out /tmp/signals-mixed.jsonl

Step 2, fit: for each weighting of the signals (a small grid), the threshold with the
fewest mistakes and, among those, the widest margin between the lowest answerable and
the highest unanswerable confidence:

    python scripts/calibrate.py fit /tmp/signals-*.jsonl

It prints the chosen weights, threshold and margin, the confidences around the threshold,
and the current weights' figures for comparison.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def collect(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from bot.config import from_env
    from bot.engine.engine import Engine

    settings = from_env().with_overrides(
        knowledge_dirs=tuple(args.knowledge_dir), index_dir=args.index_dir
    )
    engine = Engine.open(replace(settings, decline_threshold=-1.0))
    several = len(settings.folder_roots()) > 1
    with open(args.out, "w", encoding="utf-8") as out:
        for file in args.files:
            for line in file.read_text("utf-8").splitlines():
                if not line.strip():
                    continue
                item = json.loads(line)
                if several and item.get("mixed") is False:
                    continue
                answer = engine.answer(item["question"], history=item.get("history") or [])
                row = {
                    "set": file.stem,
                    "roots": len(settings.folder_roots()),
                    "id": item.get("id"),
                    "question": item["question"],
                    "unanswerable": item.get("kind") == "unanswerable",
                    "vetoed": not answer.answered,  # declined whatever the threshold
                    **answer.signals,
                }
                out.write(json.dumps(row) + "\n")
    print(f"wrote {args.out}")
    return 0


def _confidence(row: dict, w: tuple[float, float, float]) -> float:
    return w[0] * row["unit"] + w[1] * row["passage"] + w[2] * row["coverage"]


def _evaluate(rows: list[dict], w: tuple[float, float, float]) -> tuple[int, float, float]:
    """(mistakes, threshold, margin) of the best threshold for weights w."""
    scored = [(_confidence(r, w), r["unanswerable"], r["vetoed"]) for r in rows]
    best = (len(rows) + 1, 0.0, -1.0)
    for t in sorted({round(s, 4) for s, _, _ in scored}):
        mistakes = sum(1 for s, u, v in scored if (s >= t and not v) == u)
        answerable = [s for s, u, v in scored if not u and s >= t]
        declined = [s for s, u, _ in scored if u and s < t]
        low = min(answerable, default=t)
        high = max(declined, default=t)
        margin = low - high
        threshold = (low + high) / 2
        if (mistakes, -margin) < (best[0], -best[2]):
            best = (mistakes, threshold, margin)
    return best


def fit(args: argparse.Namespace) -> int:
    from bot.engine import answerability as a

    rows = [json.loads(line) for f in args.files for line in f.read_text().splitlines() if line]
    grid = [x / 10 for x in range(0, 11)]
    results = []
    for wu, wp in itertools.product(grid, grid):
        wc = round(1.0 - wu - wp, 2)
        if wc < 0:
            continue
        results.append((_evaluate(rows, (wu, wp, wc)), (wu, wp, wc)))
    results.sort(key=lambda r: (r[0][0], -r[0][2]))
    (mistakes, threshold, margin), w = results[0]
    current = (a.UNIT_WEIGHT, a.PASSAGE_WEIGHT, a.COVERAGE_WEIGHT)
    cm, ct, cmargin = _evaluate(rows, current)
    print(f"{len(rows)} questions, {sum(r['unanswerable'] for r in rows)} unanswerable")
    print(f"best weights unit={w[0]} passage={w[1]} coverage={w[2]}: ")
    print(f"  threshold {threshold:.3f}, margin {margin:+.3f}, mistakes {mistakes}")
    print(f"current weights {current}: threshold {ct:.3f}, margin {cmargin:+.3f}, mistakes {cm}")
    print("\nconfidence (current weights)  kind  question")
    for row in sorted(rows, key=lambda r: _confidence(r, current)):
        kind = "OFF" if row["unanswerable"] else "ans"
        veto = (
            " (vetoed: own words not covered)" if row["vetoed"] and not row["unanswerable"] else ""
        )
        print(
            f"  {_confidence(row, current):.3f}  {kind}  [{row['set']}/{row['roots']}] "
            f"{row['question'][:60]}{veto}"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect")
    c.add_argument("files", type=Path, nargs="+")
    c.add_argument("--knowledge-dir", type=Path, action="append", required=True)
    c.add_argument("--index-dir", type=Path)
    c.add_argument("--out", type=Path, required=True)
    f = sub.add_parser("fit")
    f.add_argument("files", type=Path, nargs="+")
    args = parser.parse_args(argv)
    return collect(args) if args.command == "collect" else fit(args)


if __name__ == "__main__":
    sys.exit(main())
