"""Feedback store and event dedupe, on a real SQLite file and a real PostgreSQL."""

from __future__ import annotations

import threading

import pytest

from bot.config import ConfigError, Settings
from bot.slack.dedupe import Deduper
from bot.store import Interaction, open_store


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url)


@pytest.fixture
def store(settings):
    s = open_store(settings)
    yield s
    s.close()


def test_wal_is_on_for_the_default_sqlite_file(tmp_path):
    s = open_store(Settings(data_dir=tmp_path / "data"))
    assert s.journal_mode() == "wal"
    assert (tmp_path / "data" / "opsbot.sqlite3").is_file()
    s.close()


def test_vote_upsert(store):
    sources = [{"path": "a.md", "title": "A", "heading": "A › B", "score": 0.9}]
    interaction_id = store.save_interaction(Interaction("q?", "ans", sources, True, "U1", "C1"))
    assert store.record_vote(interaction_id, "U2", "C1", "up")
    assert store.record_vote(interaction_id, "U2", "C1", "down")  # same user: update
    assert store.record_vote(interaction_id, "U3", "C1", "up")
    rows = store.feedback()
    assert [(r.user_id, r.vote) for r in rows] == [("U2", "down"), ("U3", "up")]
    assert rows[0].question == "q?" and rows[0].sources == sources and rows[0].channel == "C1"
    assert rows[0].interaction_id == interaction_id
    assert store.get_interaction(interaction_id).answer == "ans"  # what the feedback listener reads
    assert not store.record_vote(interaction_id + 100, "U2", "C1", "up")
    with pytest.raises(ValueError):
        store.record_vote(interaction_id, "U2", "C1", "sideways")


def test_store_questions_off_keeps_no_question_text(settings):
    s = open_store(Settings(database_url=settings.database_url, store_questions=False))
    interaction_id = s.save_interaction(Interaction("secret question", "secret answer", [], True))
    assert s.record_vote(interaction_id, "U1", "C1", "down")
    assert (
        s.get_interaction(interaction_id).question,
        s.get_interaction(interaction_id).answer,
    ) == ("", "")
    assert [(f.question, f.answer) for f in s.feedback()] == [("", "")]
    s.close()


@pytest.mark.parametrize(
    "url",
    ["mysql://x/y", "postgresql://nobody@127.0.0.1:1/opsbot", "postgres://h/db?bogus=1"],
)
def test_bad_database_url_is_a_one_line_config_error(tmp_path, url):
    with pytest.raises(ConfigError, match="DATABASE_URL") as exc:
        open_store(Settings(data_dir=tmp_path, database_url=url))
    assert "\n" not in str(exc.value)


def test_database_url_password_is_not_echoed(tmp_path):
    url = "postgresql://bot:hunter2secret@127.0.0.1:1/opsbot?sslmode=disable"
    with pytest.raises(ConfigError) as exc:
        open_store(Settings(data_dir=tmp_path, database_url=url))
    assert "hunter2secret" not in str(exc.value)


def test_dedupe_is_once_per_key_across_threads_and_restarts(settings):
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


def test_store_is_safe_across_threads(store):
    ids: list[int] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for i in range(10):
            new_id = store.save_interaction(Interaction(f"q{n}-{i}", "a", [], True, surface="dm"))
            assert store.record_vote(new_id, f"U{n}", "C", "up")
            with lock:
                ids.append(new_id)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 80
    assert len(store.interactions()) == 80 and len(store.feedback()) == 80


def test_dedupe_ttl_expires():
    deduper = Deduper(ttl_seconds=0.0)
    assert deduper.first_time("k")
    assert deduper.first_time("k")
