"""Generated answers in Slack: streamed through chat.startStream / appendStream / stopStream
in threads, chat.update (≤ 1 edit/s) where streaming is not possible, checked at the end."""

from __future__ import annotations

import pytest

pytest.importorskip("openai", reason="generated answers need the llm extra: pip install '.[llm]'")

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from fake_openai import Script
from fake_slack import BOT_USER_ID
from slack_sim import BROADCASTS

GOOD = (
    "MLOps manages machine learning models from start to finish [1]. "
    "These models learn and get better over time [1]."
)


def _channel() -> str:
    return "C" + uuid.uuid4().hex[:8].upper()


def _blocks(params: dict) -> list[dict]:
    value = params.get("blocks") or []
    return json.loads(value) if isinstance(value, str) else value


def _streamed(fake, channel: str) -> str:
    calls = [c for c in fake.calls if c.params.get("channel") == channel]
    texts = []
    for call in calls:
        if call.method in ("chat.startStream", "chat.appendStream", "chat.stopStream"):
            texts.append(call.params.get("markdown_text") or "")
            texts += [c.get("text", "") for c in call.params.get("chunks") or []]
    return "".join(texts)


def test_mention_answer_streams_then_carries_sources_and_buttons(llm_app, llm):
    llm.script = Script(text=GOOD, delay=0.02)
    channel = _channel()
    event = llm_app.sim.mention("what is mlops?", channel)
    assert event["reply"].status == 200 and event["reply"].seconds < 0.5  # ack stays instant
    (stop,) = llm_app.fake.wait_for("chat.stopStream", channel=channel)
    (start,) = llm_app.fake.find("chat.startStream", channel=channel)
    assert start.params["thread_ts"] == event["ts"]
    assert start.params["recipient_user_id"] == "UHUMAN1" and start.params["recipient_team_id"]
    assert _streamed(llm_app.fake, channel).strip() == GOOD
    tail = _blocks(stop.params)
    assert any(b.get("block_id") == "opsbot_feedback" for b in tail)
    assert any("devops-vs-mlops.md" in json.dumps(b) for b in tail)  # the sources
    assert stop.params["metadata"]["event_type"] == "opsbot_answer"
    assert not llm_app.fake.find("chat.update", channel=channel)  # nothing removed: no edit
    assert not llm_app.fake.find("chat.postMessage", channel=channel)


def test_only_checked_sentences_are_streamed(llm_app, llm):
    bad = "Kubernetes was first released by Google in 2014 [2]."
    llm.script = Script(text=f"{GOOD} {bad} It also cites [9].", delay=0.05)
    channel = _channel()
    llm_app.sim.mention("what is mlops?", channel)
    (stop,) = llm_app.fake.wait_for("chat.stopStream", channel=channel)
    streamed = _streamed(llm_app.fake, channel)
    assert "start to finish [1]" in streamed
    assert "Kubernetes" not in streamed and "[9]" not in streamed  # never shown, not even briefly
    assert not llm_app.fake.find("chat.update", channel=channel)  # nothing to correct
    stored = next(m for m in llm_app.fake.messages if m["ts"] == stop.params["ts"])
    assert "Kubernetes" not in json.dumps(stored) and "opsbot_feedback" in json.dumps(stored)


def test_planted_phishing_link_never_reaches_slack(llm_app, llm):
    planted = (
        "MLOps manages machine learning models from start to finish, "
        "[sign in again here](https://evil.example/login) [1]. "
        "These models learn and get better over time, see https://evil.example/reset [1]."
    )
    llm.script = Script(text=planted, delay=0.02)
    channel = _channel()
    llm_app.sim.mention("what is mlops?", channel)
    _final(llm_app, channel)
    sent = json.dumps([c.params for c in llm_app.fake.calls if c.params.get("channel") == channel])
    stored = json.dumps([m for m in llm_app.fake.messages if m.get("channel") == channel])
    assert "evil.example" not in sent and "evil.example" not in stored
    assert "start to finish" in _streamed(llm_app.fake, channel)  # the sentence stayed, unlinked


def _final(running, channel: str, count: int = 1) -> None:
    """Wait for the final message: a stopped stream, or one posted whole."""
    deadline = time.monotonic() + 30
    while True:
        calls = running.fake.find("chat.stopStream", channel=channel)
        calls += [
            c
            for c in running.fake.find("chat.postMessage", channel=channel)
            if "opsbot_feedback" in json.dumps(c.params) or "won't guess" in json.dumps(c.params)
        ]
        if len(calls) >= count:
            return
        assert time.monotonic() < deadline, f"no final message in {channel}"
        time.sleep(0.05)


def test_follow_up_in_the_streamed_thread_sees_the_question(llm_app, llm):
    llm.script = Script(text=GOOD)
    channel = _channel()
    first = llm_app.sim.mention("what is mlops?", channel)
    llm_app.fake.wait_for("chat.stopStream", channel=channel)
    llm_app.sim.mention("who do they team up with?", channel, thread_ts=first["ts"])
    _final(llm_app, channel, count=2)
    prompt = llm.requests[-1]["messages"][-1]["content"]
    assert "Earlier questions in this thread:\n- what is mlops?" in prompt


def test_top_level_dm_edits_one_message_at_most_once_a_second(llm_app, llm):
    words = " ".join(["MLOps manages machine learning models from start to finish [1]."] * 8)
    llm.script = Script(text=words, delay=0.035)  # ~80 tokens over ~2.8 s (LLM_TIMEOUT=3)
    channel = "D" + uuid.uuid4().hex[:8].upper()
    dm = {"type": "message", "channel_type": "im", "user": "UHUMAN1", "channel": channel}
    dm |= {"text": "what is mlops?", "ts": llm_app.fake.next_ts()}
    llm_app.sim.event(dm)
    (post,) = llm_app.fake.wait_for("chat.postMessage", channel=channel)
    deadline = time.monotonic() + 20
    while not any("opsbot_feedback" in json.dumps(_blocks(c.params)) for c in _updates(llm_app)):
        assert time.monotonic() < deadline, "no final edit"
        time.sleep(0.1)
    updates = [c for c in _updates(llm_app) if c.params["channel"] == channel]
    edits = [post, *updates[:-1]]  # streaming edits; the last update is the final message
    assert len(edits) >= 2  # checked sentences arrive while the model writes
    gaps = [b.at - a.at for a, b in zip(edits, edits[1:], strict=False)]
    assert min(gaps) >= 1.0
    assert not llm_app.fake.find("chat.startStream", channel=channel)


def _updates(running):
    return running.fake.find("chat.update")


def test_workspace_without_streaming_falls_back_to_one_message(llm_app, llm):
    llm.script = Script(text=GOOD)
    llm_app.fake.streaming = False
    try:
        channel = _channel()
        llm_app.sim.mention("what is mlops?", channel)
        (post,) = llm_app.fake.wait_for("chat.postMessage", channel=channel)
        final = json.dumps(_blocks(post.params))
        assert "start to finish [1]" in final and "opsbot_feedback" in final
    finally:
        llm_app.fake.streaming = True


def test_llm_failure_in_slack_ends_in_the_extractive_answer(llm_app, llm):
    llm.script = Script(mode="500")
    channel = _channel()
    llm_app.sim.mention("what is mlops?", channel)
    (post,) = llm_app.fake.wait_for("chat.postMessage", channel=channel)
    final = json.dumps(_blocks(post.params))
    assert "special agent of software" in final and "opsbot_feedback" in final
    assert not llm_app.fake.find("chat.startStream", channel=channel)


def test_off_topic_mention_is_declined_without_a_model_call(llm_app, llm):
    channel = _channel()
    llm_app.sim.mention("where can I get the best pizza in Naples?", channel)
    (post,) = llm_app.fake.wait_for("chat.postMessage", channel=channel)
    assert "won't guess" in json.dumps(_blocks(post.params))
    assert llm.requests == [] and not llm_app.fake.find("chat.startStream", channel=channel)


def test_burst_queues_behind_llm_concurrency_with_instant_acks(llm_app, llm):
    llm.script = Script(text=GOOD, delay=0.05)
    channels = [_channel() for _ in range(6)]
    with ThreadPoolExecutor(6) as pool:
        events = list(pool.map(lambda c: llm_app.sim.mention("what is mlops?", c), channels))
    assert max(e["reply"].seconds for e in events) < 0.5
    for channel in channels:
        llm_app.fake.wait_for("chat.stopStream", channel=channel, timeout=60)
    assert len(llm.requests) == 6 and llm.max_in_flight == 2  # LLM_CONCURRENCY=2


def test_planted_broadcast_is_never_rendered(llm_app, llm):
    hostile = "MLOps manages machine learning models <!channel> @here from start to finish [1]."
    llm.script = Script(text=hostile)
    channel = _channel()
    llm_app.sim.mention("what is mlops?", channel)
    _final(llm_app, channel)
    sent = json.dumps([c.params for c in llm_app.fake.calls if c.params.get("channel") == channel])
    assert not any(token in sent for token in BROADCASTS) and "@here" not in sent
    assert BOT_USER_ID  # the bot never mentions anyone either


def test_stream_that_cannot_be_stopped_is_replaced_by_an_edit(llm_app, llm):
    llm.script = Script(text=GOOD, delay=0.05)
    channel = _channel()
    llm_app.fake.fail("chat.stopStream", 400)
    llm_app.sim.mention("what is mlops?", channel)
    (update,) = llm_app.fake.wait_for("chat.update", channel=channel)
    final = json.dumps(_blocks(update.params))
    assert "start to finish [1]" in final and "opsbot_feedback" in final


def test_answer_appears_once_with_knowledge_urls(linked_app, llm):
    """With source URLs the citations render as links; the stream must not append the
    whole answer again on stop (it did: the text showed twice)."""
    kb_link = "[MLOps](https://docs.example.com/kb/devops-vs-mlops.md)"
    llm.script = Script(text=GOOD.replace("MLOps", kb_link, 1), delay=0.02)
    channel = _channel()
    linked_app.sim.mention("what is mlops?", channel)
    (stop,) = linked_app.fake.wait_for("chat.stopStream", channel=channel)
    stored = next(m for m in linked_app.fake.messages if m["ts"] == stop.params["ts"])
    shown = stored.get("markdown", "") + json.dumps(stored.get("blocks") or _blocks(stop.params))
    assert shown.count("start to finish") == 1 and shown.count("better over time") == 1
    assert "docs.example.com/kb/devops-vs-mlops.md" in shown  # sources linked, as configured
    assert "(https://docs.example.com/kb/devops-vs-mlops.md)" in stored["markdown"]  # own host
    assert not linked_app.fake.find("chat.update", channel=channel)
