"""Answer lengths and leads over a question file: median/max characters of the answer.

    python scripts/answer_lengths.py FILE --index-dir DIR --knowledge-dir DIR [-k 5] [--show]

`--show` prints each answered question with its answer, to read the leads by eye.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from bot.config import from_env
from bot.engine.engine import Engine
from bot.evaluation import lead_has_hint, load_questions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file", type=Path)
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--knowledge-dir", type=Path, action="append", required=True)
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--show", action="store_true")
    args = parser.parse_args()
    settings = from_env().with_overrides(
        index_dir=args.index_dir, knowledge_dirs=tuple(args.knowledge_dir)
    )
    engine = Engine.open(settings)
    lengths, leads, asked = [], 0, 0
    for item in load_questions(args.file):
        answer = engine.answer(item["question"], k=args.k)
        if not answer.answered:
            continue
        lengths.append(len(answer.answer))
        lead = lead_has_hint(item, answer)
        if lead is not None:
            asked += 1
            leads += lead
        if args.show:
            print(f"=== {item.get('id')} lead={lead} len={len(answer.answer)}: {item['question']}")
            print(f"    hint: {item.get('answer_hint') or item.get('hints')}")
            print(answer.answer)
    if lengths:
        print(
            f"answered={len(lengths)} lead={leads}/{asked} "
            f"median_chars={statistics.median(lengths):.0f} max_chars={max(lengths)}"
        )


if __name__ == "__main__":
    main()
