"""Question parsing stays linear in the question's length: a long question full of
splitters ("vs vs vs …", a 4,000-character probe once took ~3 s in comparison parsing)
costs about as much per character as a short one. Measured as a ratio in the same run,
in CPU time of this thread (best of several tries, garbage collection paused), so time
other processes take on a busy machine does not decide the result."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from bot.engine.comparison import comparison

SCALE = 8  # the long input is 8x the short one
LINEAR_BOUND = 2.5 * SCALE  # linear, with room for a busy machine; quadratic is ~64x


def best_seconds(fn: Callable[[str], object], text: str, tries: int) -> float:
    best = float("inf")
    gc.disable()
    try:
        for _ in range(tries):
            started = time.thread_time()
            fn(text)
            best = min(best, time.thread_time() - started)
    finally:
        gc.enable()
    return best


def ratio(fn: Callable[[str], object], unit: str, short_chars: int = 500) -> float:
    short = (unit * short_chars)[:short_chars]
    long = (unit * short_chars * SCALE)[: short_chars * SCALE]
    fn(short)  # caches and compiled patterns warm
    return best_seconds(fn, long, 10) / best_seconds(fn, short, 5 * SCALE)


def test_comparison_parsing_is_linear_in_length():
    for unit in ("vs ", "vs. ", "and or than ", "x.vs.y "):
        assert ratio(comparison, unit) <= LINEAR_BOUND, unit


def test_reading_a_question_is_linear_in_length(article_engine):
    reader = article_engine._reader  # everything that parses a question, nothing more
    for unit in ("vs ", "docker vs kubernetes, ", "what is the difference and "):
        assert ratio(reader.read, unit) <= LINEAR_BOUND, unit
