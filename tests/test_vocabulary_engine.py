"""The docs' own vocabulary and calibration, end to end: a real ingest, the real model."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.engine import calibration

DOCS = {
    "scrape.md": (
        "# Scrape settings\n\nSet `honor_labels` to true to keep the labels a target exposes "
        "when they clash with the labels Prometheus attaches. The `scrape_timeout` bounds each "
        "scrape request.\n"
    ),
    "storage.md": (
        "# Storage\n\nA Persistent Volume Claim (PVC) requests disk space for the time series "
        "database. Size the claim for fifteen days of samples.\n"
    ),
    "alerts.md": (
        "# Alerting\n\nAlert rules fire when an expression stays true for the configured "
        "duration. Route alerts to receivers by their labels.\n"
    ),
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from bot.engine.engine import Engine

    root = tmp_path_factory.mktemp("kb") / "team"
    root.mkdir()
    for name, text in DOCS.items():
        (root / name).write_text(text, encoding="utf-8")
    state = tmp_path_factory.mktemp("state")
    settings = Settings(knowledge_dirs=(root,), index_dir=state / "index", data_dir=state / "data")
    return Engine.open(settings, notify=lambda _msg: None)


def test_words_written_apart_meet_the_docs_identifier(engine):
    question = engine.read("which setting keeps my own labels, honor labels?")
    assert "honor_labels" in question.lexical and "honor_labels" not in question.search
    answer = engine.answer("which setting keeps my own labels, honor labels?")
    assert answer.answered and answer.sources[0].path.endswith("scrape.md")


def test_a_short_form_the_docs_define_is_written_out(engine):
    question = engine.read("how big should the pvc be?")
    assert "persistent volume claim" in question.lexical.lower()
    answer = engine.answer("how big should the pvc be?")
    assert answer.answered and answer.sources[0].path.endswith("storage.md")


def test_ingest_keeps_a_calibrated_threshold_with_the_build(engine):
    kept = calibration.load(engine.index)
    assert kept is not None and kept.threshold == engine.decline_threshold
    assert kept.threshold >= calibration.FLOOR
    assert kept.threshold > kept.offtopic_max  # the bank is declined here by construction
    for question in ("will it be sunny in lisbon on friday?", "how do I make a good risotto?"):
        assert not engine.answer(question).answered, question
