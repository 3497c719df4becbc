"""`opsbot tune`: adapt the embedding model to the team's own docs, on the CPU.

The docs label their own content: a section heading says what its text answers, the way
a reader would ask for it. Pairs (heading → section text) are mined from the current
index, and the model is trained with sentence-transformers' MultipleNegativesRankingLoss,
where every other section in a batch is a negative. No question from any eval set is
used. The result is a model directory: point EMBEDDING_MODEL at it and re-ingest.

The loop is written out (tokenize, loss, AdamW step) instead of using
`SentenceTransformerTrainer`, which would pull in `datasets` and `accelerate`.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.documents import Chunk
from bot.errors import OpsbotError

MIN_TEXT_CHARS = 80  # a section shorter than this says too little to learn from
MIN_ANCHOR_CHARS = 4
TEXT_CHARS = 1000  # what the model reads of a section while training (about 128 tokens)
TRAIN_SEQ_TOKENS = 128  # shorter than at query time: training is quadratic in length


class TuneError(OpsbotError, ValueError):
    """Too little to train on, or nowhere to write the model."""

    exit_code = 2


@dataclass(frozen=True)
class Pair:
    anchor: str  # what a reader would ask for: the section's heading
    text: str  # what answers it: the section


@dataclass(frozen=True)
class TuneReport:
    pairs: int
    epochs: int
    steps: int
    seconds: float
    first_loss: float
    last_loss: float
    out: Path

    def lines(self) -> list[str]:
        return [
            f"Trained on {self.pairs} heading → section pairs from your docs: {self.epochs} "
            f"epoch(s), {self.steps} steps in {self.seconds:.0f}s "
            f"(loss {self.first_loss:.3f} → {self.last_loss:.3f}).",
            f"Model saved to {self.out}. Use it: EMBEDDING_MODEL={self.out} opsbot ingest",
        ]


def mine_pairs(chunks: Sequence[Chunk]) -> list[Pair]:
    """One pair per section with something to say. A heading that several sections
    share ("Summary", "Usage") is qualified by its parent, so in-batch negatives are
    really different sections."""
    last = [chunk.heading.split(" › ") for chunk in chunks]
    counts = Counter(parts[-1].strip().lower() for parts in last)
    pairs: dict[tuple[str, str], Pair] = {}
    for chunk, parts in zip(chunks, last, strict=True):
        own = parts[-1].strip()
        anchor = own if counts[own.lower()] == 1 else " › ".join(p.strip() for p in parts[-2:])
        text = chunk.text.strip()
        if len(text) < MIN_TEXT_CHARS or len(anchor) < MIN_ANCHOR_CHARS:
            continue
        pairs.setdefault((anchor, text[:TEXT_CHARS]), Pair(anchor, text[:TEXT_CHARS]))
    return list(pairs.values())


def check_enough(pairs: Sequence[Pair], batch_size: int) -> None:
    """One full batch at least: in-batch negatives need company."""
    if len(pairs) < max(2, batch_size):
        raise TuneError(
            f"only {len(pairs)} heading → section pairs in the index; tuning needs at least "
            f"{max(2, batch_size)} (ingest more docs, or lower --batch-size)"
        )


def tune(
    pairs: Sequence[Pair],
    base: Path | str,
    out: Path,
    *,
    epochs: int = 1,
    batch_size: int = 32,
    learning_rate: float = 2e-5,
    seed: int = 0,
    progress: Callable[[int, int, float], None] | None = None,
) -> TuneReport:
    """Fine-tune the model at `base` on `pairs` and save it to `out`."""
    check_enough(pairs, batch_size)
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.losses import MultipleNegativesRankingLoss

    torch.manual_seed(seed)
    model = SentenceTransformer(str(base), device="cpu")
    serving_length = model.max_seq_length or TRAIN_SEQ_TOKENS
    model.max_seq_length = min(TRAIN_SEQ_TOKENS, serving_length)
    loss = MultipleNegativesRankingLoss(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    order = list(pairs)
    per_epoch = len(order) // batch_size
    total, step = per_epoch * epochs, 0
    first = last = 0.0
    started = time.perf_counter()
    model.train()
    for epoch in range(epochs):
        random.Random(seed + epoch).shuffle(order)
        for start in range(0, per_epoch * batch_size, batch_size):
            batch = order[start : start + batch_size]
            anchors = model.preprocess([p.anchor for p in batch])
            texts = model.preprocess([p.text for p in batch])
            value = loss([anchors, texts], None)
            optimizer.zero_grad()
            value.backward()
            optimizer.step()
            step += 1
            last = float(value.detach())
            first = first or last
            if progress:
                progress(step, total, last)
    model.eval()
    model.max_seq_length = serving_length
    try:
        out.mkdir(parents=True, exist_ok=True)
        model.save(str(out))
    except OSError as exc:
        raise TuneError(f"cannot write the tuned model to {out}: {exc.strerror or exc}") from exc
    seconds = time.perf_counter() - started
    return TuneReport(len(pairs), epochs, step, seconds, first, last, out)
