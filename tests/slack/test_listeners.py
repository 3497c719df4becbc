"""Listeners driven through `app.dispatch`: Bolt's own request path, with no HTTP server.

Each test signs a body as Slack does, dispatches it into the real Bolt app (real listeners,
middleware, dedupe store and worker pool) and checks the ack Bolt returns, then what the
after-ack work sent to the fake Slack Web API. Faster and closer to the listener code than
the HTTP tests in test_http.py, which cover the WSGI layer as well.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import fake_slack
import pytest
from fake_slack import BOT_USER_ID, SIGNING_SECRET, FakeSlack, events_payload
from slack_bolt import App, BoltRequest, BoltResponse
from slack_sim import sign
from stub_engine import StubEngine

from bot.config import Settings
from bot.slack.app import SlackEnv, build_app, make_client
from bot.store import open_store
from bot.store.records import Interaction


@pytest.fixture
def bolt(tmp_path) -> Iterator[tuple[App, FakeSlack, StubEngine]]:
    fake = FakeSlack().start()
    settings = Settings(data_dir=tmp_path)
    store = open_store(settings)
    engine = StubEngine()
    env = SlackEnv(fake_slack.BOT_TOKEN, "", SIGNING_SECRET, fake.url)
    client = make_client(env.bot_token, fake.url)
    app = build_app(settings, engine, store, client=client, slack=env)
    yield app, fake, engine
    app.opsbot.close()  # waits for the after-ack work
    store.close()
    fake.stop()


def dispatch(app: App, body: str, content_type: str, **headers: str) -> BoltResponse:
    signed = {k.lower(): v for k, v in sign(body).items()}
    request = BoltRequest(body=body, headers={"content-type": content_type, **signed, **headers})
    return app.dispatch(request)


def event(app: App, payload: dict[str, Any], **headers: str) -> BoltResponse:
    return dispatch(app, json.dumps(payload), "application/json", **headers)


def mention(text: str, fake: FakeSlack, channel: str = "C0000001") -> dict[str, Any]:
    return {
        "type": "app_mention",
        "user": "UHUMAN1",
        "text": f"<@{BOT_USER_ID}> {text}",
        "ts": fake.next_ts(),
        "channel": channel,
    }


def test_mention_is_acked_before_the_answer_is_posted_in_its_thread(bolt):
    app, fake, engine = bolt
    ev = mention("what is gitops?", fake)
    started = time.perf_counter()
    response = event(app, events_payload(ev))
    assert response.status == 200 and time.perf_counter() - started < 1.0
    posted = fake.wait_for("chat.postMessage", channel="C0000001", thread_ts=ev["ts"])
    assert engine.calls == [("what is gitops?", [])]  # the mention itself is stripped
    assert "what is gitops?" in json.dumps(posted[0].params.get("blocks"))


def test_a_retried_event_is_acked_but_answered_once(bolt):
    app, fake, engine = bolt
    payload = events_payload(mention("what is devops?", fake))
    assert event(app, payload).status == 200
    retry = event(app, payload, **{"x-slack-retry-num": "1", "x-slack-retry-reason": "timeout"})
    assert retry.status == 200
    fake.wait_for("chat.postMessage", channel="C0000001")
    app.opsbot.close()  # all after-ack work done
    assert len(engine.calls) == 1 and len(fake.find("chat.postMessage")) == 1


def test_an_event_nobody_handles_is_acked_not_404(bolt):
    app, fake, engine = bolt
    reaction = {"type": "reaction_added", "user": "UHUMAN1", "reaction": "eyes"}
    assert event(app, events_payload(reaction)).status == 200
    app.opsbot.close()
    assert engine.calls == [] and fake.find("chat.postMessage") == []


def test_a_bad_signature_is_refused_before_any_listener(bolt):
    app, fake, engine = bolt
    body = json.dumps(events_payload(mention("what is mlops?", fake)))
    request = BoltRequest(
        body=body,
        headers={
            "content-type": "application/json",
            "x-slack-request-timestamp": str(int(time.time())),
            "x-slack-signature": "v0=" + "0" * 64,
        },
    )
    assert app.dispatch(request).status == 401
    app.opsbot.close()
    assert engine.calls == []


def test_slash_command_help_is_the_ack_itself(bolt):
    app, fake, engine = bolt
    form = {
        "team_id": fake_slack.TEAM_ID,
        "channel_id": "C0000001",
        "user_id": "UHUMAN1",
        "command": "/opsbot",
        "text": "help",
        "api_app_id": "A0000001",
        "response_url": fake.response_url("help"),
        "trigger_id": "1.2.3",
    }
    response = dispatch(app, urlencode(form), "application/x-www-form-urlencoded")
    assert response.status == 200
    ack = json.loads(response.body)
    assert ack["response_type"] == "ephemeral" and ack["text"] == "How to ask opsbot"
    assert engine.calls == []  # help never reaches the engine


def vote(app: App, fake: FakeSlack, interaction_id: int, name: str) -> BoltResponse:
    action = {"type": "feedback_buttons", "action_id": "opsbot_feedback"}
    action |= {"block_id": "opsbot_feedback", "value": f"up:{interaction_id}"}
    payload = {
        "type": "block_actions",
        "team": {"id": fake_slack.TEAM_ID},
        "user": {"id": "UHUMAN2"},
        "api_app_id": "A0000001",
        "container": {"type": "message", "message_ts": "1.1", "channel_id": "C0000001"},
        "channel": {"id": "C0000001"},
        "response_url": fake.response_url(name),
        "message": {"ts": "1.1", "text": "an answer", "blocks": []},
        "actions": [action],
    }
    body = urlencode({"payload": json.dumps(payload)})
    return dispatch(app, body, "application/x-www-form-urlencoded")


def test_a_vote_is_stored_for_a_known_answer_only(bolt):
    app, fake, _ = bolt
    store = app.opsbot.store
    known = store.save_interaction(Interaction("q?", "an answer", [], True, "UHUMAN1", "C0000001"))
    assert vote(app, fake, known, "known").status == 200
    assert vote(app, fake, known + 1000, "unknown").status == 200
    app.opsbot.close()  # all after-ack work done
    assert [(f.interaction_id, f.user_id, f.vote) for f in store.feedback()] == [
        (known, "UHUMAN2", "up")
    ]
    # one private thank-you, to the voter; the unknown id gets none
    assert fake.wait_for("chat.postEphemeral", channel="C0000001", user="UHUMAN2")
