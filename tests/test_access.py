"""Who may see which source: the rules behind every surface's scope (bot/access.py), and
the one answer step applying them (bot/answering.py)."""

from __future__ import annotations

import pytest

from bot.access import Access, Asker
from bot.answering import Answerer
from bot.config import Settings
from bot.engine.types import Answer
from bot.settings_file import parse
from bot.store import open_store


@pytest.fixture
def access(tmp_path) -> Access:
    for name in ("security", "runbooks", "ml"):
        (tmp_path / name).mkdir()
    settings = Settings(knowledge_dirs=tuple(tmp_path / n for n in ("security", "runbooks", "ml")))
    file = parse(
        {
            "source": [
                {"path": str(tmp_path / "security"), "allow": ["C0SEC", "S0SECTEAM", "UBOSS1"]},
            ],
            "channel": [{"id": "C0ML", "sources": ["ml"]}, {"id": "C0SEC", "sources": []}],
        }
    )
    members = {"S0SECTEAM": frozenset({"UGUARD1"})}
    return Access(settings, file, members=lambda g: members.get(g, frozenset()))


OPEN = {"runbooks", "ml"}
ALL = {"security", "runbooks", "ml"}


@pytest.mark.parametrize(
    ("asker", "sees"),
    [
        (Asker("UHUMAN1", "C0GENERAL", surface="mention"), OPEN),
        (Asker("UHUMAN1", "C0SEC", surface="mention"), ALL),  # the allowed channel
        (Asker("UGUARD1", "C0GENERAL", surface="mention"), OPEN),  # a public reply
        (Asker("UGUARD1", "D0DM", surface="dm", private=True), ALL),  # group member, DM
        (Asker("UHUMAN1", "D0DM", surface="dm", private=True), OPEN),
        (Asker("UBOSS1", "D0DM", surface="dm", private=True), ALL),  # a user allowed by id
        (Asker("UGUARD1", "C0GENERAL", surface="command", private=True), ALL),  # ephemeral
        (Asker("UGUARD1", "C0ML", surface="command", private=True), {"ml"}),  # channel scope
        (Asker("UHUMAN1", "C0ML", surface="thread"), {"ml"}),
        (Asker(surface="cli", local=True), ALL),  # the server's own terminal
    ],
)
def test_scope_rules(access, asker, sees):
    scope = access.scope(asker)
    assert (set(scope.allowed) if scope is not None else ALL) == sees
    assert scope is None or scope.names == ("security", "runbooks", "ml")


def test_nothing_restricted_means_no_scope_at_all(tmp_path):
    assert Access(Settings(knowledge_dirs=(tmp_path,))).scope(Asker("U1", "C1")) is None


class RecordingEngine:
    def __init__(self) -> None:
        self.scopes: list = []

    def answer(self, question, *, history=(), k=None, scope=None) -> Answer:
        self.scopes.append(scope)
        return Answer(question, False, "no")


def test_the_answer_step_applies_the_scope_and_records_for_every_surface(access, tmp_path):
    engine = RecordingEngine()
    store = open_store(Settings(data_dir=tmp_path / "data"))
    answerer = Answerer(engine, access, store)
    for surface in ("mention", "dm", "command", "assistant", "thread", "channel", "home"):
        reply = answerer.answer("where are the keys?", Asker("UHUMAN1", "C0ML", surface=surface))
        assert reply.scope is not None and set(reply.scope.allowed) == {"ml"}
        assert reply.interaction_id is not None
    assert all(s is not None and set(s.allowed) == {"ml"} for s in engine.scopes)
    assert [i.surface for i in store.interactions()][-1] == "home"
    store.close()
