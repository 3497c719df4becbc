"""End to end in Socket Mode: `opsbot serve` (the default) against a local websocket server.

The fake's apps.connections.open hands out a ws:// URL to a real `websockets` server
that speaks Slack's envelope protocol: hello, then events_api / slash_commands /
interactive envelopes, each of which the app must ack by envelope_id.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest
from fake_slack import BOT_USER_ID, TEAM_ID, FakeSlack, FakeSocketMode, events_payload
from serve_proc import Running, app_env, start_serve, stop
from slack_sim import SlackSim


@pytest.fixture(scope="module")
def socket_app(tmp_path_factory, live) -> Iterator[tuple[Running, FakeSocketMode]]:
    """Started after `live` so the index is already built; both share nothing else."""
    fake = FakeSlack().start()
    ws = FakeSocketMode().start()
    fake.ws_url = ws.url
    state = tmp_path_factory.mktemp("socket")
    env = app_env(fake, state, INDEX_DIR=str(live.data_dir.parent / "index"))
    env.pop("SLACK_SIGNING_SECRET")  # Socket Mode needs none
    proc = start_serve([], env, state, state / "serve.log")
    try:
        ws.wait_connected(timeout=120)
    except AssertionError:
        stop(proc)
        pytest.fail((state / "serve.log").read_text()[-3000:])
    assert fake.find("apps.connections.open")[0].params["token"].startswith("xapp-")
    yield Running(SlackSim("", fake), fake, state / "data", proc=proc), ws
    assert stop(proc) == 0, (state / "serve.log").read_text()[-3000:]
    ws.stop()
    fake.stop()


def test_mention_envelope_is_acked_and_answered_once(socket_app):
    running, ws = socket_app
    channel = "C" + uuid.uuid4().hex[:8].upper()
    event = {"type": "app_mention", "user": "UHUMAN1", "channel": channel}
    event |= {"text": f"<@{BOT_USER_ID}> What is MLOps?", "ts": running.fake.next_ts()}
    payload = events_payload(event)
    started = time.perf_counter()
    envelope_id = ws.send("events_api", payload)
    assert ws.wait_ack(envelope_id)["envelope_id"] == envelope_id
    assert time.perf_counter() - started < 1
    retry_id = ws.send("events_api", payload, retry_attempt=1)  # Slack's retry: same event_id
    ws.wait_ack(retry_id)
    (post,) = running.fake.wait_for("chat.postMessage", channel=channel)
    assert post.params["thread_ts"] == event["ts"]
    assert "machine learning" in json.dumps(post.params["blocks"])
    time.sleep(0.5)
    assert len(running.fake.find("chat.postMessage", channel=channel)) == 1


def test_thread_reply_without_a_mention_is_answered_once_over_socket_mode(socket_app):
    running, ws = socket_app
    channel = "C" + uuid.uuid4().hex[:8].upper()
    first = {"type": "app_mention", "user": "UHUMAN1", "channel": channel}
    first |= {"text": f"<@{BOT_USER_ID}> What is MLOps?", "ts": running.fake.next_ts()}
    running.fake.add_message(channel, first["text"], ts=first["ts"])
    ws.wait_ack(ws.send("events_api", events_payload(first)))
    running.fake.wait_for("chat.postMessage", channel=channel)
    reply = {"type": "message", "channel_type": "channel", "user": "UHUMAN1"}
    reply |= {"channel": channel, "text": "and how is it different from DevOps?"}
    reply |= {"ts": running.fake.next_ts(), "thread_ts": first["ts"]}
    running.fake.add_message(channel, reply["text"], ts=reply["ts"], thread_ts=first["ts"])
    chatter = {**reply, "text": "thanks!", "ts": running.fake.next_ts()}
    payload = events_payload(reply)
    for envelope in (payload, events_payload(chatter)):
        ws.wait_ack(ws.send("events_api", envelope))
    ws.wait_ack(ws.send("events_api", payload, retry_attempt=1))  # Slack's retry
    (_, answer) = running.fake.wait_for("chat.postMessage", count=2, channel=channel)
    assert answer.params["thread_ts"] == first["ts"]
    assert "DevOps" in json.dumps(answer.params["blocks"])
    time.sleep(0.5)  # a duplicate, or an answer to the chatter, would show up now
    assert len(running.fake.find("chat.postMessage", channel=channel)) == 2


def test_slash_command_and_click_envelopes(socket_app):
    running, ws = socket_app
    channel = "C" + uuid.uuid4().hex[:8].upper()
    command = {
        "team_id": TEAM_ID,
        "channel_id": channel,
        "user_id": "UHUMAN1",
        "command": "/opsbot",
        "text": "help",
        "response_url": running.fake.response_url(channel),
    }
    ack = ws.wait_ack(ws.send("slash_commands", command))
    assert "/opsbot share" in json.dumps(ack.get("payload"))  # help rides on the ack
    ws.wait_ack(ws.send("slash_commands", {**command, "text": "What is DevOps?"}))
    (call,) = running.fake.wait_for("response_url", response_url_id=channel)
    assert call.params["response_type"] == "ephemeral"
    blocks = call.params["blocks"]
    (feedback,) = next(b for b in blocks if b["type"] == "context_actions")["elements"]
    vote = {"type": "feedback_buttons", "action_id": feedback["action_id"]}
    vote["value"] = feedback["negative_button"]["value"]  # what Slack sends for a 👎 click
    click = {
        "type": "block_actions",
        "team": {"id": TEAM_ID},
        "user": {"id": "UVOTER2"},
        "container": {"type": "message", "is_ephemeral": True, "channel_id": channel},
        "channel": {"id": channel},
        "response_url": running.fake.response_url(channel + "-click"),
        "actions": [{**vote, "block_id": "opsbot_feedback"}],
    }
    ws.wait_ack(ws.send("interactive", click))
    (thanks,) = running.fake.wait_for("chat.postEphemeral", channel=channel, user="UVOTER2")
    assert thanks.params["text"].startswith("👎 Thanks")  # privately, to the one who clicked
    assert not running.fake.find("response_url", response_url_id=channel + "-click")


def test_sigterm_exits_cleanly(socket_app):
    running, _ = socket_app
    assert isinstance(running.proc, subprocess.Popen) and running.proc.poll() is None
