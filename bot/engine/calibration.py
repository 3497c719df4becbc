"""Each index's own decline threshold, set at ingest from its own docs.

A fixed threshold fits the docs it was tuned on: a larger or wordier knowledge base lifts
every score, so weather questions start to pass. Instead, each build scores a shipped bank
of plainly off-topic questions (`offtopic.txt`: weather, recipes, sport, travel…) and
pseudo-questions made from its own section headings, and declines below a line just above
the best off-topic score, kept below most of what its own headings reach.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from bot.index.store import Build

BANK_FILE = Path(__file__).with_name("offtopic.txt")
VERSION = 6  # bump when the confidence it was measured with changes
MARGIN = 0.04  # above the best off-topic question
FLOOR = 0.25  # never answer below this, however off-topic questions score here
HEADING_QUANTILE = 0.1  # and keep nine in ten of the docs' own headings answerable
HEADING_SAMPLE = 120  # headings scored per index (a spread sample, fixed seed)


@dataclass(frozen=True)
class Calibration:
    threshold: float
    offtopic_max: float
    headings_low: float  # the HEADING_QUANTILE of heading pseudo-questions
    questions: int
    version: int = VERSION


def offtopic_bank() -> list[str]:
    lines = BANK_FILE.read_text("utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def heading_questions(headings: Sequence[str], limit: int = HEADING_SAMPLE) -> list[str]:
    """Distinct section headings of three words or more, as pseudo-questions."""
    seen: dict[str, None] = {}
    for heading in headings:
        last = heading.split(" › ")[-1].strip(" #*`:")
        if len(last.split()) >= 3 and last.lower() not in seen:
            seen[last.lower()] = None
    picked = list(seen)
    if len(picked) > limit:
        picked = random.Random(0).sample(picked, limit)
    return picked


def calibrate(
    confidence: Callable[[str], float], headings: Sequence[str], bank: Sequence[str] = ()
) -> Calibration:
    """The threshold for one index, from `confidence(question)` as the engine scores it."""
    bank = list(bank) or offtopic_bank()
    offtopic = max(confidence(q) for q in bank)
    pseudo = [confidence(q) for q in heading_questions(headings)]
    low = float(np.quantile(pseudo, HEADING_QUANTILE)) if pseudo else 1.0
    threshold = max(FLOOR, min(offtopic + MARGIN, low))
    return Calibration(
        round(threshold, 4), round(offtopic, 4), round(low, 4), len(bank) + len(pseudo)
    )


def save(build: Build, calibration: Calibration) -> None:
    """Kept with the build (a file beside a local one, a column of a shared one)."""
    build.save_calibration(asdict(calibration))


def load(build: Build) -> Calibration | None:
    """The build's calibration; None when it has none yet or it cannot be read."""
    data = build.calibration()
    try:
        calibration = Calibration(**data) if data else None
    except TypeError:
        return None
    return calibration if calibration and calibration.version == VERSION else None
