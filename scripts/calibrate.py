"""Print the best dense score of every eval question, to calibrate DECLINE_THRESHOLD.

    python scripts/calibrate.py ../shared/eval/corpus-dev.jsonl --knowledge-dir ../shared/corpus

For each question it shows the best dense cosine among the retrieved passages and
whether the question is answerable. A good threshold sits between the highest
unanswerable score and the bulk of the answerable ones; the script prints, for each
candidate threshold, how many unanswerable questions it declines and how many
answerable ones it wrongly declines.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    from dataclasses import replace

    from bot.config import from_env
    from bot.engine.engine import Engine

    parser = argparse.ArgumentParser()
    parser.add_argument("file", type=Path)
    parser.add_argument("--knowledge-dir", type=Path)
    parser.add_argument("--index-dir", type=Path)
    args = parser.parse_args(argv)
    settings = from_env().with_overrides(knowledge_dir=args.knowledge_dir, index_dir=args.index_dir)
    engine = Engine.open(replace(settings, decline_threshold=-1.0))
    rows = []
    for line in args.file.read_text().splitlines():
        if line.strip():
            item = json.loads(line)
            answer = engine.answer(item["question"], k=5)
            rows.append((answer.top_score, item["kind"] == "unanswerable", item["question"]))
    for score, unanswerable, question in sorted(rows):
        print(f"{score:.3f}  {'OFF-TOPIC' if unanswerable else 'answerable'}  {question[:70]}")
    print("\nthreshold  declined-off-topic  false-declines")
    for step in range(30, 61, 2):
        t = step / 100
        off = sum(1 for s, u, _ in rows if u and s < t)
        false = sum(1 for s, u, _ in rows if not u and s < t)
        print(f"  {t:.2f}     {off}/{sum(u for _, u, _ in rows)}              {false}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
