"""Every question is recorded once, on every surface, on both backends; retention, privacy
and the v1 -> v2 migration keep what they promise."""

from __future__ import annotations

import builtins
import logging
import sqlite3
import time
from collections.abc import Sequence

import pytest
from prometheus_client import REGISTRY

from bot.config import Settings
from bot.engine.types import Answer, Source
from bot.observability.questions import record_question
from bot.store import Interaction, open_store
from bot.store.sql import SCHEMA_VERSION

SECRET = "zebra-quokka-4471 how do I leak the prod db"
DAY = 86400


def answered(question: str = "What is MLOps?") -> Answer:
    sources = [
        Source("devops-vs-mlops.md", "DevOps vs MLOps", "DevOps vs MLOps › Tools", 0.71, "x"),
        Source("connect-slack.md", "Connect Slack", "Connect Slack › Tokens", 0.52, "y"),
    ]
    return Answer(question, True, "MLOps is ...", sources=sources, top_score=0.71, latency_ms=12.34)


def declined(question: str = "best pizza in Naples?") -> Answer:
    return Answer(question, False, "I have nothing on that.", top_score=0.12, latency_ms=3.5)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url)


def test_record_question_stores_counts_times_and_logs_one_line(settings, caplog):
    store = open_store(settings)
    before_ok = sample("opsbot_questions_total", surface="dm", outcome="answered")
    before_no = sample("opsbot_questions_total", surface="dm", outcome="declined")
    before_n = sample("opsbot_answer_seconds_count", surface="dm")
    with caplog.at_level(logging.INFO, logger="opsbot.questions"):
        first = record_question(store, surface="dm", answer=answered(), user="U1", channel="D1")
        second = record_question(store, surface="dm", answer=declined(), user="U1", channel="D1")
    assert isinstance(first, int) and second == first + 1
    rows = store.interactions()
    assert [(r.surface, r.answered, r.user_id, r.channel) for r in rows] == [
        ("dm", True, "U1", "D1"),
        ("dm", False, "U1", "D1"),
    ]
    assert rows[0].question == "What is MLOps?" and rows[0].top_score == 0.71
    assert rows[0].latency_ms == 12.34 and rows[1].latency_ms == 3.5
    assert [s["path"] for s in rows[0].sources] == ["devops-vs-mlops.md", "connect-slack.md"]
    assert rows[0].sources[0]["heading"] == "DevOps vs MLOps › Tools"
    assert "text" not in rows[0].sources[0]  # passages stay in the index, not the store
    assert sample("opsbot_questions_total", surface="dm", outcome="answered") == before_ok + 1
    assert sample("opsbot_questions_total", surface="dm", outcome="declined") == before_no + 1
    assert sample("opsbot_answer_seconds_count", surface="dm") == before_n + 2
    logs = [r for r in caplog.records if r.name == "opsbot.questions"]
    assert len(logs) == 2
    assert logs[0].getMessage() == (
        f"question {first} surface=dm answered 12.3ms top=0.71 "
        "sources=devops-vs-mlops.md,connect-slack.md"
    )
    assert (logs[0].question_id, logs[0].surface, logs[0].outcome) == (first, "dm", "answered")
    assert logs[0].sources == ["devops-vs-mlops.md", "connect-slack.md"]
    assert (logs[1].outcome, logs[1].top_score, logs[1].latency_ms) == ("declined", 0.12, 3.5)
    assert not hasattr(logs[0], "question")  # users paste secrets: text stays out of logs
    store.close()


def test_store_questions_false_keeps_numbers_but_no_text_anywhere(tmp_path, caplog):
    settings = Settings(data_dir=tmp_path, store_questions=False)
    store = open_store(settings)
    with caplog.at_level(logging.INFO, logger="opsbot.questions"):
        qid = record_question(store, surface="chat", answer=answered(SECRET))
        record_question(store, surface="chat", answer=declined(SECRET + " again"))
    assert store.record_vote(qid, "U1", "C1", "down")
    rows = store.interactions()
    assert [(r.answered, r.latency_ms, r.top_score) for r in rows] == [
        (True, 12.34, 0.71),
        (False, 3.5, 0.12),
    ]
    assert all(r.question == "" and r.answer == "" for r in rows)
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("opsbot.sqlite3*"))
    assert b"zebra-quokka" not in raw and b"MLOps is" not in raw
    for record in caplog.records:
        assert "zebra" not in record.getMessage() and not hasattr(record, "question")


def test_store_failure_still_counts_and_returns_none(caplog):
    class Broken:
        store_questions = True

        def save_interaction(self, record: Interaction) -> int:
            raise OSError("disk full")

    before = sample("opsbot_questions_total", surface="command", outcome="answered")
    with caplog.at_level(logging.INFO, logger="opsbot.questions"):
        assert record_question(Broken(), surface="command", answer=answered()) is None
    assert sample("opsbot_questions_total", surface="command", outcome="answered") == before + 1
    assert "could not store" in caplog.text


def test_retention_prunes_on_open_and_then_hourly(settings, monkeypatch):
    settings = Settings(database_url=settings.database_url, retention_days=0)
    store = open_store(settings)
    now = time.time()
    old = store.save_interaction(Interaction("old", "a", [], True, created_at=now - 100 * DAY))
    edge = store.save_interaction(Interaction("edge", "a", [], True, created_at=now - 89 * DAY))
    store.record_vote(old, "U1", "C", "down")
    store.record_vote(edge, "U1", "C", "up")
    store.claim_event("event:old", 3600)
    store.close()

    keep = open_store(settings)  # RETENTION_DAYS=0: keep forever
    assert [i.question for i in keep.interactions()] == ["old", "edge"]
    keep.close()

    pruning = open_store(Settings(database_url=settings.database_url, retention_days=90))
    assert [i.question for i in pruning.interactions()] == ["edge"]
    assert [f.interaction_id for f in pruning.feedback()] == [edge]
    assert pruning.get_interaction(old) is None and not pruning.record_vote(old, "U2", "C", "up")
    # Within the hour a write does not prune again; after it, it does.
    stale = Interaction("stale", "a", [], False, created_at=time.time() - 95 * DAY)
    pruning.save_interaction(stale)
    assert len(pruning.interactions()) == 2
    clock = time.monotonic() + 3601
    monkeypatch.setattr(time, "monotonic", lambda: clock)
    pruning.save_interaction(Interaction("new", "a", [], True))
    assert [i.question for i in pruning.interactions()] == ["edge", "new"]
    pruning.close()


V1_SCHEMA = (
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    "INSERT INTO schema_version (version) VALUES (1)",
    """CREATE TABLE answers (id INTEGER PRIMARY KEY AUTOINCREMENT, question TEXT NOT NULL,
        answer TEXT NOT NULL, sources TEXT NOT NULL, answered INTEGER NOT NULL,
        user_id TEXT NOT NULL DEFAULT '', channel TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL)""",
    """CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT,
        answer_id INTEGER NOT NULL REFERENCES answers(id), question TEXT NOT NULL,
        answer TEXT NOT NULL, sources TEXT NOT NULL, user_id TEXT NOT NULL,
        channel TEXT NOT NULL DEFAULT '', vote TEXT NOT NULL CHECK (vote IN ('up', 'down')),
        created_at REAL NOT NULL, updated_at REAL NOT NULL, UNIQUE (answer_id, user_id))""",
    "CREATE TABLE seen_events (event_key TEXT PRIMARY KEY, seen_at REAL NOT NULL)",
    """INSERT INTO answers VALUES (7, 'What is MLOps?', 'MLOps is ...',
        '[{"path": "devops-vs-mlops.md", "score": 0.66}]', 1, 'U1', 'C1', 1700000000.0)""",
    """INSERT INTO answers VALUES (9, 'How do I connect Slack?', 'Create an app ...',
        '[]', 1, 'U2', 'C1', 1700000100.0)""",
    """INSERT INTO feedback VALUES (1, 7, 'What is MLOps?', 'MLOps is ...',
        '[{"path": "devops-vs-mlops.md", "score": 0.66}]', 'U5', 'C1', 'down',
        1700000200.0, 1700000300.0)""",
    "INSERT INTO seen_events VALUES ('event:Ev1', 1700000000.0)",
)


def test_v1_database_migrates_and_keeps_its_feedback(tmp_path):
    path = tmp_path / "opsbot.sqlite3"
    db = sqlite3.connect(path)
    for statement in V1_SCHEMA:
        db.execute(statement)
    db.commit()
    db.close()

    store = open_store(Settings(data_dir=tmp_path, retention_days=0))  # the rows are from 2023
    (vote,) = store.feedback()
    assert (vote.interaction_id, vote.question, vote.user_id, vote.vote) == (
        7,
        "What is MLOps?",
        "U5",
        "down",
    )
    old = store.get_interaction(7)  # an old message's button value still finds its question
    assert (old.question, old.answer, old.surface, old.top_score) == (
        "What is MLOps?",
        "MLOps is ...",
        "slack",
        0.66,
    )
    assert store.record_vote(9, "U5", "C1", "up") and len(store.feedback()) == 2
    assert store.save_interaction(Interaction("new", "a", [], False, surface="dm")) == 10
    store.close()
    db = sqlite3.connect(path)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    db.close()
    assert "answers" not in tables and {"interactions", "feedback", "seen_events"} <= tables
    again = open_store(Settings(data_dir=tmp_path, retention_days=0))  # the next start: no-op
    assert len(again.interactions()) == 3 and len(again.feedback()) == 2
    again.close()


class FakeEngine:
    """Answers anything with 'mlops' in it, declines the rest."""

    chunk_count = 3
    settings = Settings()

    def topics(self, scope=None) -> list[str]:
        return ["DevOps vs MLOps"]

    def answer(self, question: str, *, history: Sequence[str] = (), k=None, scope=None):
        return answered(question) if "mlops" in question.lower() else declined(question)


def test_services_ask_records_every_surface_and_buttons_carry_the_id(tmp_path):
    from bot.access import Access, Asker
    from bot.answering import Answerer
    from bot.slack.services import Services

    store = open_store(Settings(data_dir=tmp_path))
    answerer = Answerer(FakeEngine(), Access(Settings()), store)
    services = Services(Settings(), FakeEngine(), store, None, None, None, None, answerer)  # type: ignore[arg-type]
    message, ok_id, _ = services.ask("what is mlops", Asker("U1", "C1", surface="mention"))
    (feedback,) = message["blocks"][-1]["elements"]  # Slack's feedback_buttons
    values = {feedback[b]["value"] for b in ("positive_button", "negative_button")}
    assert values == {f"up:{ok_id}", f"down:{ok_id}"}
    message, no_id, answer = services.ask("pizza?", Asker("U1", "C1", surface="command"))
    assert not answer.answered and no_id == ok_id + 1
    assert all(b["type"] != "context_actions" for b in message["blocks"])  # no votes on a decline
    assert [(i.surface, i.answered) for i in store.interactions()] == [
        ("mention", True),
        ("command", False),
    ]
    store.close()


def test_chat_records_each_question(tmp_path, monkeypatch, capsys):
    from bot.chat import run_chat

    lines = iter(["what is mlops?", "/new", "pizza?"])

    def fake_input(prompt: str = "") -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr(builtins, "input", fake_input)
    store = open_store(Settings(data_dir=tmp_path))
    assert run_chat(FakeEngine(), tmp_path / "history", store) == 0
    assert [(i.surface, i.question, i.answered) for i in store.interactions()] == [
        ("chat", "what is mlops?", True),
        ("chat", "pizza?", False),
    ]
    store.close()
    assert "MLOps is" in capsys.readouterr().out


def test_v2_database_gains_escalations_and_keeps_its_rows(settings):
    store = open_store(settings)
    kept = store.save_interaction(Interaction("q?", "a", [], True, "U1", "C1"))
    store.record_vote(kept, "U2", "C1", "down")
    store._run("DROP TABLE escalations")  # as a v2 database was
    store._run("UPDATE schema_version SET version = 2")
    store.close()
    upgraded = open_store(settings)
    assert upgraded._run("SELECT version FROM schema_version")[0] == [(SCHEMA_VERSION,)]
    assert [f.user_id for f in upgraded.feedback()] == ["U2"]
    assert upgraded.record_escalation(kept, "U1", "C1", "S0ONCALL")
    assert not upgraded.record_escalation(kept, "U3", "C1", "S0ONCALL")  # once per answer
    assert [(e.question, e.group_id) for e in upgraded.escalations()] == [("q?", "S0ONCALL")]
    upgraded.close()
