"""Channels, scopes and people, end to end over signed HTTP: the real Bolt app and WSGI
server with an opsbot.toml, a stand-in engine that honours the scope it is given, and the
fake Slack Web API (user groups included).

Each rule has its own case: thread replies answered and chatter ignored, help-channel
questions answered and statements ignored, a question a person already answered left
alone, channel scopes, a restricted source invisible outside its channel and group (DMs
and /opsbot included), "Ask a person" posting once with the group mention.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import fake_slack
import pytest
from fake_slack import BOT_USER_ID, SIGNING_SECRET, FakeSlack
from serve_proc import Running, free_port
from slack_sim import SlackSim, posted_text
from stub_engine import StubEngine

from bot.engine.topics import Catalogue, Group
from bot.engine.types import Answer, Source
from bot.settings_file import parse

SECRET_DOC = "security/vault-keys.md"
OPEN_DOC = "runbooks/deploy.md"


class ScopedEngine(StubEngine):
    """The stand-in engine, drawing on a restricted doc only when the scope allows it."""

    def __init__(self) -> None:
        super().__init__()
        self.scopes: list[Any] = []

    def catalogue(self, scope=None) -> Catalogue:
        groups = [Group("runbooks", 1, ["Deploying"]), Group("security", 1, ["Vault keys"])]
        seen = [g for g in groups if scope is None or scope.allows(f"{g.name}/x.md")]
        return Catalogue(len(seen), len(seen), 1_700_000_000.0, seen, ["How do I deploy?"])

    def answer(self, question, *, history=(), k=None, scope=None) -> Answer:
        with self._lock:
            self.scopes.append(scope)
        answer = super().answer(question, history=history, k=k)
        if answer.answered:
            secret = "vault" in question and (scope is None or scope.allows(SECRET_DOC))
            path = SECRET_DOC if secret else OPEN_DOC
            title = "Vault key handling" if secret else "Deploying"
            answer.sources = [Source(path, title, title, 0.8, "passage")]
        return answer


def config(security, runbooks) -> dict[str, Any]:
    return {
        "source": [
            {"name": "security", "path": str(security), "allow": ["C0SECURE", "S0SECTEAM"]},
            {"name": "runbooks", "path": str(runbooks)},
        ],
        "channel": [
            {"id": "C0HELP", "respond": "questions", "escalate": "S0ONCALL"},
            {"id": "C0QUIET", "respond": "questions"},
            {"id": "C0RUNBOOK", "sources": ["runbooks"]},
            {"id": "C0OFF", "respond": "off"},
        ],
    }


@pytest.fixture(scope="module")
def team(tmp_path_factory) -> Iterator[Running]:
    import waitress

    from bot.config import Settings
    from bot.slack.app import SlackEnv, build_app, make_client
    from bot.slack.serve import SlackWSGI
    from bot.store import open_store

    base = tmp_path_factory.mktemp("team")
    security, runbooks = base / "security", base / "runbooks"
    security.mkdir()
    runbooks.mkdir()
    settings = Settings(knowledge_dirs=(security, runbooks), data_dir=base / "data")
    fake = FakeSlack().start()
    fake.groups = {"S0SECTEAM": ["UGUARD1"], "S0ONCALL": ["UONCALL1"]}
    store = open_store(settings)
    engine = ScopedEngine()
    env = SlackEnv(fake_slack.BOT_TOKEN, "", SIGNING_SECRET, fake.url)
    client = make_client(env.bot_token, fake.url)
    file = parse(config(security, runbooks))
    app = build_app(settings, engine, store, client=client, slack=env, config=file)
    port = free_port()
    server = waitress.create_server(SlackWSGI(app, SIGNING_SECRET, dict), port=port, threads=8)
    thread = threading.Thread(target=_serve, args=(server,), daemon=True)
    thread.start()
    running = Running(SlackSim(f"127.0.0.1:{port}", fake), fake, base / "data", engine)
    running.app = app  # type: ignore[attr-defined]
    yield running
    server.close()
    app.opsbot.close()
    store.close()
    fake.stop()


def _serve(server) -> None:
    with contextlib.suppress(OSError):
        server.run()


def settle(team: Running) -> None:
    """Wait until every piece of after-ack work queued so far has finished (no sleeps):
    one barrier task per worker runs only once each worker is done with what came before."""
    pool = team.app.opsbot.pool  # type: ignore[attr-defined]
    gate = threading.Barrier(pool._max_workers + 1)
    for _ in range(pool._max_workers):
        pool.submit(gate.wait, 30)
    gate.wait(30)


def channel_id(prefix: str = "C") -> str:
    return prefix + uuid.uuid4().hex[:9].upper()


def say(
    team: Running,
    channel: str,
    text: str,
    *,
    thread_ts: str | None = None,
    user: str = "UHUMAN1",
    kind: str = "channel",
) -> dict[str, Any]:
    """A person's message in a channel, as message.channels delivers it (and kept in the
    fake, so conversations.replies returns it)."""
    event = {"type": "message", "channel_type": kind, "channel": channel, "user": user}
    event |= {"text": text, "ts": team.fake.next_ts()}
    if thread_ts:
        event["thread_ts"] = thread_ts
    team.fake.add_message(channel, text, user=user, ts=event["ts"], thread_ts=thread_ts)
    assert team.sim.event(event).status == 200
    return event


def posts(team: Running, channel: str) -> list:
    return team.fake.find("chat.postMessage", channel=channel)


def test_a_question_in_a_thread_opsbot_answered_is_answered_without_a_mention(team):
    channel = channel_id()
    first = team.sim.mention("what is gitops?", channel)
    team.fake.wait_for("chat.postMessage", channel=channel, thread_ts=first["ts"])
    say(team, channel, "and how do I roll it back?", thread_ts=first["ts"])
    second = team.fake.wait_for("chat.postMessage", count=2, channel=channel)[1]
    assert second.params["thread_ts"] == first["ts"]
    assert ("and how do I roll it back?", ["what is gitops?"]) in team.engine.calls


def test_chatter_in_the_thread_is_left_alone(team):
    channel = channel_id()
    first = team.sim.mention("what is gitops?", channel)
    team.fake.wait_for("chat.postMessage", channel=channel)
    for text in ("thanks!", "on it 👍", "ok cool, sounds good", "Deployed the fix to prod."):
        say(team, channel, text, thread_ts=first["ts"])
    settle(team)
    assert len(posts(team, channel)) == 1
    assert not any(q in ("thanks!", "on it 👍") for q, _ in team.engine.calls)


def test_a_reply_in_a_thread_opsbot_is_not_in_is_left_alone(team):
    channel = channel_id()
    top = say(team, channel, "deploying now")
    say(team, channel, "how do I roll it back?", thread_ts=top["ts"])
    say(team, channel, "<@UPERSON1> can you check the logs?", thread_ts=top["ts"])
    settle(team)
    assert posts(team, channel) == []


def test_a_mention_in_a_thread_is_answered_once_though_it_is_also_a_thread_reply(team):
    channel = channel_id()
    first = team.sim.mention("what is gitops?", channel)
    team.fake.wait_for("chat.postMessage", channel=channel)
    mention = team.sim.mention("and argo?", channel, thread_ts=first["ts"])
    message = {"type": "message", "channel_type": "channel", "channel": channel}
    message |= {"user": "UHUMAN1", "text": f"<@{BOT_USER_ID}> and argo?", "ts": mention["ts"]}
    message["thread_ts"] = first["ts"]
    assert team.sim.event(message).status == 200  # the same message, as message.channels
    reply = say(team, channel, "why does argo sync twice?", thread_ts=first["ts"])
    assert team.sim.event(reply | {}).status == 200  # delivered again (a retry)
    team.fake.wait_for("chat.postMessage", count=3, channel=channel)
    settle(team)
    assert len(posts(team, channel)) == 3  # first, the mention, the reply: once each


def test_a_help_channel_answers_top_level_questions_in_their_thread(team):
    question = say(team, "C0HELP", "how do I rotate the deploy keys?")
    (post,) = team.fake.wait_for("chat.postMessage", channel="C0HELP", thread_ts=question["ts"])
    assert "Ask a person" in posted_text(post.params)


def test_a_help_channel_leaves_statements_and_chatter_alone(team):
    channel = "C0QUIET"
    before = len(posts(team, channel))
    for text in ("Deployed the fix to prod.", "thanks all!", "good morning"):
        say(team, channel, text)
    settle(team)
    assert len(posts(team, channel)) == before


def test_a_question_a_person_already_answered_is_left_alone(team):
    channel = "C0QUIET"
    before = len(posts(team, channel))
    event = {"type": "message", "channel_type": "channel", "channel": channel}
    event |= {"user": "UHUMAN1", "text": "why is staging slow?", "ts": team.fake.next_ts()}
    team.fake.add_message(channel, event["text"], ts=event["ts"])
    team.fake.add_message(channel, "it's the nightly backup", user="UHUMAN7", thread_ts=event["ts"])
    assert team.sim.event(event).status == 200
    settle(team)
    assert len(posts(team, channel)) == before


def test_declines_in_a_help_channel_are_quiet(team):
    quiet = say(team, "C0QUIET", "where is the best pizza?")
    loud = say(team, "C0HELP", "where is the best pizza?")
    (short,) = team.fake.wait_for("chat.postMessage", channel="C0HELP", thread_ts=loud["ts"])
    settle(team)
    assert not team.fake.find("chat.postMessage", channel="C0QUIET", thread_ts=quiet["ts"])
    text = " ".join(b["elements"][0]["text"] for b in _blocks(short) if b["type"] == "context")
    assert len(text) < 60 and "Nearest topics" not in posted_text(short.params)
    assert "Ask a person" in posted_text(short.params)  # one short line and the way to a person


def test_a_channel_switched_off_answers_nothing_and_says_so_privately(team):
    first = team.sim.mention("what is gitops?", "C0OFF")
    say(team, "C0OFF", "and how do I roll it back?", thread_ts=first["ts"])
    (note,) = team.fake.wait_for("chat.postEphemeral", channel="C0OFF", user="UHUMAN1")
    settle(team)
    assert posts(team, "C0OFF") == [] and "switched off" in note.params["text"]


def test_a_channel_answers_only_from_its_sources(team):
    team.sim.mention("where are the vault keys?", "C0RUNBOOK")
    (post,) = team.fake.wait_for("chat.postMessage", channel="C0RUNBOOK")
    assert OPEN_DOC.split("/")[-1] in posted_text(post.params)
    assert SECRET_DOC.split("/")[-1] not in posted_text(post.params)


@pytest.mark.parametrize(
    ("channel", "user", "sees"),
    [
        ("C0SECURE", "UHUMAN1", True),  # the allowed channel
        ("C0ELSEWHERE", "UHUMAN1", False),  # another channel
        # a group member, but the reply is read by the whole channel
        ("C0ELSEWHERE", "UGUARD1", False),
        ("C0RUNBOOK", "UGUARD1", False),  # and a channel's own scope holds anyway
    ],
)
def test_a_restricted_source_is_searched_in_a_channel_only_where_that_channel_is_allowed(
    team, channel, user, sees
):
    channel = channel if channel != "C0ELSEWHERE" else channel_id()
    event = {"type": "app_mention", "user": user, "channel": channel, "ts": team.fake.next_ts()}
    event["text"] = f"<@{BOT_USER_ID}> where are the vault keys?"
    team.fake.add_message(channel, event["text"], user=user, ts=event["ts"])
    team.sim.event(event)
    (post,) = team.fake.wait_for("chat.postMessage", channel=channel, thread_ts=event["ts"])
    assert ("vault-keys.md" in posted_text(post.params)) is sees


@pytest.mark.parametrize(("user", "sees"), [("UHUMAN1", False), ("UGUARD1", True)])
def test_a_restricted_source_is_invisible_in_a_dm_unless_the_group_allows(team, user, sees):
    channel = channel_id("D")
    event = {"type": "message", "channel_type": "im", "channel": channel, "user": user}
    event |= {"text": "where are the vault keys?", "ts": team.fake.next_ts()}
    team.sim.event(event)
    (post,) = team.fake.wait_for("chat.postMessage", channel=channel)
    assert ("vault-keys.md" in posted_text(post.params)) is sees


def test_a_restricted_source_is_invisible_to_opsbot_commands_elsewhere(team):
    url = team.fake.response_url("cmd-" + uuid.uuid4().hex[:6])
    assert team.sim.command("where are the vault keys?", "C0PUBLIC1", url).status == 200
    name = url.rsplit("/", 1)[-1]
    (reply,) = team.fake.wait_for("response_url", response_url_id=name)
    assert "vault-keys.md" not in posted_text(reply.params)


def test_a_group_members_private_answer_cannot_be_shared_where_the_channel_may_not_see_it(team):
    name = "cmd-" + uuid.uuid4().hex[:6]
    url = team.fake.response_url(name)
    assert team.sim.command("where are the vault keys?", "C0PUBLIC2", url).status == 200
    (ephemeral,) = team.fake.wait_for("response_url", response_url_id=name)
    assert "vault-keys.md" not in posted_text(ephemeral.params)  # UHUMAN1: not a member
    guard = _command_as(team, "UGUARD1", "where are the vault keys?", "C0PUBLIC2")
    assert "vault-keys.md" in posted_text(guard.params)  # privately, to a member
    message = {**guard.params, "ts": team.fake.next_ts(), "channel": "C0PUBLIC2"}
    share = team.fake.response_url(name + "-share")
    assert team.sim.share(message, "UGUARD1", share).status == 200
    (refused,) = team.fake.wait_for("response_url", response_url_id=name + "-share")
    assert (
        refused.params["response_type"] == "ephemeral" and "stays private" in refused.params["text"]
    )


def test_group_members_are_looked_up_once_and_cached(team):
    lookups = len(team.fake.find("usergroups.users.list", usergroup="S0SECTEAM"))
    for _ in range(3):
        channel = channel_id("D")
        event = {"type": "message", "channel_type": "im", "channel": channel, "user": "UGUARD1"}
        event |= {"text": "where are the vault keys?", "ts": team.fake.next_ts()}
        team.sim.event(event)
        team.fake.wait_for("chat.postMessage", channel=channel)
    assert len(team.fake.find("usergroups.users.list", usergroup="S0SECTEAM")) <= max(lookups, 1)


def test_ask_a_person_posts_once_in_the_thread_with_the_group_mention(team):
    question = say(team, "C0HELP", "how do I rotate the signing keys?")
    (post,) = team.fake.wait_for("chat.postMessage", channel="C0HELP", thread_ts=question["ts"])
    message = next(
        m
        for m in team.fake.messages
        if m.get("bot_id") and m["channel"] == "C0HELP" and m.get("thread_ts") == question["ts"]
    )
    button = next(
        e for b in _blocks(post) if b["type"] == "actions" for e in b["elements"]
        if e["action_id"] == "opsbot_escalate"
    )  # fmt: skip
    for clicker in ("UHUMAN1", "UHUMAN2"):  # a second click, by anyone, posts nothing more
        _click(team, message, question["ts"], button, clicker)
    (asked,) = team.fake.wait_for(
        "chat.postMessage", count=2, channel="C0HELP", thread_ts=question["ts"]
    )[1:]
    assert "<!subteam^S0ONCALL>" in asked.params["text"]
    assert "rotate the signing keys" in posted_text(asked.params)
    team.fake.wait_for("chat.postEphemeral", channel="C0HELP", user="UHUMAN2")
    settle(team)
    assert len(team.fake.find("chat.postMessage", channel="C0HELP", thread_ts=question["ts"])) == 2
    store = team.app.opsbot.store  # type: ignore[attr-defined]
    (row,) = [e for e in store.escalations() if "signing keys" in e.question]
    assert (row.group_id, row.channel, row.user_id) == ("S0ONCALL", "C0HELP", "UHUMAN1")
    # the on-call person's question to the asker is theirs to ask: opsbot stays out
    say(team, "C0HELP", "which cluster is it on?", thread_ts=question["ts"], user="UONCALL1")
    settle(team)
    assert len(team.fake.find("chat.postMessage", channel="C0HELP", thread_ts=question["ts"])) == 2


def test_a_second_vote_changes_that_persons_vote(team):
    channel = channel_id()
    team.sim.mention("what is gitops?", channel)
    team.fake.wait_for("chat.postMessage", channel=channel)
    message = next(m for m in team.fake.messages if m.get("bot_id") and m["channel"] == channel)
    url = team.fake.response_url(channel + "-vote")
    team.sim.click(message, "up", "UVOTER1", url)
    team.fake.wait_for("chat.postEphemeral", channel=channel, user="UVOTER1")
    team.sim.click(message, "down", "UVOTER1", url)
    team.sim.click(message, "up", "UVOTER2", url)
    team.fake.wait_for("chat.postEphemeral", count=2, channel=channel, user="UVOTER1")
    team.fake.wait_for("chat.postEphemeral", channel=channel, user="UVOTER2")
    store = team.app.opsbot.store  # type: ignore[attr-defined]
    votes = {(f.user_id, f.vote) for f in store.feedback() if f.channel == channel}
    assert votes == {("UVOTER1", "down"), ("UVOTER2", "up")}
    assert not team.fake.find("chat.update", channel=channel)


def _blocks(call) -> list[dict[str, Any]]:
    raw = call.params.get("blocks")
    return json.loads(raw) if isinstance(raw, str) else raw or []


def _click(team: Running, message: dict, thread_ts: str, button: dict, user: str) -> None:
    from urllib.parse import urlencode

    payload = {
        "type": "block_actions",
        "team": {"id": fake_slack.TEAM_ID},
        "user": {"id": user},
        "api_app_id": "A0000001",
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": "C0HELP"},
        "channel": {"id": "C0HELP"},
        "message": {"ts": message["ts"], "thread_ts": thread_ts, "text": "", "blocks": []},
        "response_url": team.fake.response_url("esc-" + user),
        "actions": [{**button, "block_id": "opsbot_escalate"}],
    }
    body = urlencode({"payload": json.dumps(payload)})
    assert team.sim.post(body, "application/x-www-form-urlencoded").status == 200


@pytest.mark.parametrize(("user", "sees"), [("UHUMAN1", False), ("UGUARD1", True)])
def test_app_home_lists_only_what_the_viewer_may_see(team, user, sees):
    event = {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"}
    assert team.sim.event(event).status == 200
    (call,) = team.fake.wait_for("views.publish", user_id=user)
    view = json.dumps(call.params["view"], ensure_ascii=False)
    assert "*Runbooks*" in view and ("*Security*" in view) is sees
    assert ("Vault keys" in view) is sees


def test_a_home_example_question_is_answered_in_the_messages_tab(team):
    payload = {
        "type": "block_actions",
        "team": {"id": fake_slack.TEAM_ID},
        "user": {"id": "UHOMEX1"},
        "api_app_id": "A0000001",
        "container": {"type": "view", "view_id": "V1"},
        "view": {"id": "V1", "type": "home"},
        "actions": [
            {"type": "button", "action_id": "opsbot_example_0", "value": "How do I deploy?"}
        ],
    }
    from urllib.parse import urlencode

    body = urlencode({"payload": json.dumps(payload)})
    assert team.sim.post(body, "application/x-www-form-urlencoded").status == 200
    (post,) = team.fake.wait_for("chat.postMessage", channel="DHOMEX1")
    assert "How do I deploy?" in posted_text(post.params)
    assert team.fake.find("conversations.open", users="UHOMEX1")


def _command_as(team: Running, user: str, text: str, channel: str):
    """/opsbot from `user`; the ephemeral reply it gets."""
    from urllib.parse import urlencode

    name = "cmd-" + uuid.uuid4().hex[:6]
    form = {
        "token": "legacy",
        "team_id": fake_slack.TEAM_ID,
        "channel_id": channel,
        "user_id": user,
        "command": "/opsbot",
        "text": text,
        "api_app_id": "A0000001",
        "response_url": team.fake.response_url(name),
        "trigger_id": "1.2.3",
    }
    reply = team.sim.post(urlencode(form), "application/x-www-form-urlencoded")
    assert reply.status == 200
    (call,) = team.fake.wait_for("response_url", response_url_id=name)
    return call
