"""Feedback store and event dedupe, on a real SQLite file."""

from __future__ import annotations

import threading

import pytest

from bot.config import ConfigError, Settings
from bot.slack.dedupe import Deduper
from bot.store import AnswerRecord, open_store


@pytest.fixture
def store(tmp_path):
    s = open_store(Settings(data_dir=tmp_path / "data"))
    yield s
    s.close()


def test_wal_and_vote_upsert(store):
    assert store.journal_mode() == "wal"
    sources = [{"path": "a.md", "title": "A", "heading": "A › B", "score": 0.9}]
    answer_id = store.save_answer(AnswerRecord("q?", "ans", sources, True, "U1", "C1"))
    assert store.record_vote(answer_id, "U2", "C1", "up")
    assert store.record_vote(answer_id, "U2", "C1", "down")  # same user: update
    assert store.record_vote(answer_id, "U3", "C1", "up")
    rows = store.feedback()
    assert [(r.user_id, r.vote) for r in rows] == [("U2", "down"), ("U3", "up")]
    assert rows[0].question == "q?" and rows[0].sources == sources and rows[0].channel == "C1"
    assert not store.record_vote(answer_id + 100, "U2", "C1", "up")
    with pytest.raises(ValueError):
        store.record_vote(answer_id, "U2", "C1", "sideways")


def test_store_questions_off_keeps_no_question_text(tmp_path):
    s = open_store(Settings(data_dir=tmp_path, store_questions=False))
    answer_id = s.save_answer(AnswerRecord("secret question", "a", [], True))
    assert s.get_answer(answer_id).question == ""
    s.close()


def test_unsupported_database_url_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        open_store(Settings(data_dir=tmp_path, database_url="postgresql://x/y"))


def test_dedupe_is_once_per_key_across_threads_and_restarts(tmp_path):
    settings = Settings(data_dir=tmp_path)
    first = open_store(settings)
    deduper = Deduper(first)
    wins: list[bool] = []
    threads = [
        threading.Thread(target=lambda: wins.append(deduper.first_time("event:Ev1")))
        for _ in range(20)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 1
    first.close()
    restarted = open_store(settings)  # a retry arriving after a restart is still caught
    assert not Deduper(restarted).first_time("event:Ev1")
    assert Deduper(restarted).first_time("event:Ev2")
    restarted.close()


def test_dedupe_ttl_expires():
    deduper = Deduper(ttl_seconds=0.0)
    assert deduper.first_time("k")
    assert deduper.first_time("k")
