"""The real Bolt app and WSGI server in-process, on a stand-in engine whose output we control.

Covers what the real knowledge base cannot provoke: hostile document text, answers
beyond Slack's size limits, and slow answers while acks must stay fast.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from slack_sim import BROADCASTS, posted_text, raw_markdown, visible_texts

from bot.slack import blocks


def _channel() -> str:
    return "C" + uuid.uuid4().hex[:8].upper()


def test_hostile_knowledge_text_reaches_slack_inert(stub_app):
    channel = _channel()
    event = stub_app.sim.mention("hostile doc please", channel)
    assert event["reply"].status == 200
    (call,) = stub_app.fake.wait_for("chat.postMessage", channel=channel)
    sent = posted_text(call.params)
    assert not any(token in sent for token in BROADCASTS)
    assert "```" in sent  # the passage's code block is still a code block
    assert call.params["thread_ts"] == event["ts"]


def test_long_answer_fits_slack_limits(stub_app):
    channel = _channel()
    stub_app.sim.mention("long answer please", channel)
    (call,) = stub_app.fake.wait_for("chat.postMessage", channel=channel)
    message_blocks = call.params["blocks"]
    assert len(message_blocks) <= blocks.MAX_BLOCKS
    texts = [b["text"]["text"] for b in message_blocks if b["type"] == "section"]
    assert all(len(t) <= blocks.SECTION_LIMIT for t in texts)
    assert 0 < len(call.params["text"]) <= 300


def test_acks_stay_fast_while_answers_compute(stub_app):
    channels = [_channel() for _ in range(12)]
    with ThreadPoolExecutor(12) as pool:
        events = list(pool.map(lambda c: stub_app.sim.mention("slow question", c), channels))
    assert all(e["reply"].status == 200 for e in events)
    assert max(e["reply"].seconds for e in events) < 0.1  # each answer takes 0.5 s
    for channel in channels:
        stub_app.fake.wait_for("chat.postMessage", channel=channel, timeout=15)


def test_thread_history_reaches_the_engine(stub_app):
    channel = _channel()
    first = stub_app.sim.mention("what is gitops", channel)
    stub_app.fake.wait_for("chat.postMessage", channel=channel)
    stub_app.sim.mention("and the tools?", channel, thread_ts=first["ts"])
    stub_app.fake.wait_for("chat.postMessage", count=2, channel=channel)
    question, history = stub_app.engine.calls[-1]
    assert question == "and the tools?"
    assert history == ["what is gitops"]


def test_dm_follow_up_under_the_bot_answer_uses_its_question(stub_app):
    """A reply in the thread of the bot's top-level DM answer finds the question via metadata."""
    channel = "D" + uuid.uuid4().hex[:8].upper()
    dm = {"type": "message", "channel_type": "im", "user": "UHUMAN1", "channel": channel}
    first = {**dm, "text": "what is gitops", "ts": stub_app.fake.next_ts()}
    stub_app.fake.add_message(channel, first["text"], ts=first["ts"])
    assert stub_app.sim.event(first).status == 200
    (answer,) = stub_app.fake.wait_for("chat.postMessage", channel=channel)
    assert answer.params.get("thread_ts") is None  # top-level DM: top-level answer
    assert answer.params["metadata"]["event_type"] == "opsbot_answer"
    bot_ts = next(
        m["ts"] for m in stub_app.fake.messages if m.get("bot_id") and m["channel"] == channel
    )
    follow = {**dm, "text": "and the tools?", "ts": stub_app.fake.next_ts(), "thread_ts": bot_ts}
    stub_app.fake.add_message(channel, follow["text"], ts=follow["ts"], thread_ts=bot_ts)
    stub_app.sim.event(follow)
    calls = stub_app.fake.wait_for("chat.postMessage", count=2, channel=channel)
    assert calls[1].params["thread_ts"] == bot_ts
    assert stub_app.engine.calls[-1] == ("and the tools?", ["what is gitops"])


def test_app_home_lists_topics_escaped(stub_app):
    event = {"type": "app_home_opened", "user": "UHOME01", "channel": "D1", "tab": "home"}
    assert stub_app.sim.event(event).status == 200
    (call,) = stub_app.fake.wait_for("views.publish", user_id="UHOME01")
    view = call.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    dumped = json.dumps(view)
    assert view["type"] == "home"
    assert "Kubernetes &lt;basics&gt; &amp; more" in dumped and "7 passages" in dumped


def test_engine_failure_is_never_silent(stub_app):
    channel = _channel()
    stub_app.sim.mention("explode please", channel)
    (post,) = stub_app.fake.wait_for("chat.postMessage", channel=channel)
    assert "something went wrong" in post.params["text"]
    stub_app.fake.wait_for("reactions.remove", channel=channel)  # 👀 still comes off
    url_id = channel + "-cmd"
    stub_app.sim.command("explode again", channel, stub_app.fake.response_url(url_id))
    (call,) = stub_app.fake.wait_for("response_url", response_url_id=url_id)
    assert "something went wrong" in call.params["text"]


def test_assistant_thread_gets_prompts_status_and_answer(stub_app):
    channel = "D" + uuid.uuid4().hex[:8].upper()
    thread_ts = stub_app.fake.next_ts()
    started = {
        "type": "assistant_thread_started",
        "assistant_thread": {"user_id": "UHUMAN1", "channel_id": channel, "thread_ts": thread_ts},
    }
    assert stub_app.sim.event(started).status == 200
    (hello,) = stub_app.fake.wait_for("chat.postMessage", channel=channel)
    assert hello.params["thread_ts"] == thread_ts
    (prompts,) = stub_app.fake.wait_for("assistant.threads.setSuggestedPrompts", channel_id=channel)
    assert prompts.params["prompts"][0]["message"] == "What is GitOps?"  # a real heading
    question = {"type": "message", "channel_type": "im", "user": "UHUMAN1", "channel": channel}
    question |= {"text": "what is gitops", "ts": stub_app.fake.next_ts(), "thread_ts": thread_ts}
    assert stub_app.sim.event(question).status == 200
    stub_app.fake.wait_for("assistant.threads.setStatus", channel_id=channel)
    answer = stub_app.fake.wait_for("chat.postMessage", count=2, channel=channel)[1]
    assert answer.params["thread_ts"] == thread_ts
    assert "what is gitops" in posted_text(answer.params)


def test_answer_has_no_raw_markdown_and_numbered_linked_sources(stub_app):
    channel = _channel()
    stub_app.sim.mention("what is gitops", channel)
    (call,) = stub_app.fake.wait_for("chat.postMessage", channel=channel)
    texts = visible_texts(call.params)
    assert all(not raw_markdown(t) for t in texts), [raw_markdown(t) for t in texts]
    joined = "\n".join(texts)
    assert "<https://docs.example.com/devops?a=1&amp;b=2|[1]>" in joined  # the citation links
    assert (
        "[1] <https://docs.example.com/devops?a=1&amp;b=2|Tools &lt;!here&gt; — DevOps vs MLOps>"
        in joined
    )
    assert "_one_ ~two~" in joined and "*Details*" in joined


def test_share_button_posts_the_answer_publicly_once(stub_app):
    channel = _channel()
    url_id = channel + "-ask"
    stub_app.sim.command("what is gitops", channel, stub_app.fake.response_url(url_id))
    (ephemeral,) = stub_app.fake.wait_for("response_url", response_url_id=url_id)
    assert ephemeral.params["response_type"] == "ephemeral"
    message = {**ephemeral.params, "ts": "1.1", "channel": channel}
    share_url = stub_app.fake.response_url(channel + "-share")
    for user in ("UHUMAN1", "UHUMAN1", "UOTHER2"):  # a double click, then someone else
        assert stub_app.sim.share(message, user, share_url).status == 200
    calls = stub_app.fake.wait_for("response_url", count=2, response_url_id=channel + "-share")
    time.sleep(0.5)
    calls = stub_app.fake.find("response_url", response_url_id=channel + "-share")
    public = [c for c in calls if c.params.get("response_type") == "in_channel"]
    assert len(public) == 1 and len(calls) == 2
    sent = posted_text(public[0].params)
    assert "<@UHUMAN1> asked: what is gitops" in sent and "Answer" in sent
    assert public[0].params["replace_original"] is False
    (updated,) = [c for c in calls if c.params.get("replace_original") is True]
    assert updated.params["text"] == f"Shared in <#{channel}>."  # not a second full copy
    assert len(updated.params["blocks"]) == 1
    assert "[1]" not in public[0].params["text"]  # clean notification text


def test_decline_in_a_channel_is_short_and_offers_a_dm(stub_app):
    channel = _channel()
    stub_app.sim.mention("best pizza in town?", channel)
    (call,) = stub_app.fake.wait_for("chat.postMessage", channel=channel)
    visible = " ".join(visible_texts(call.params)[1:])
    assert len(visible) <= blocks.DECLINE_LIMIT
    assert "Nearest topics" in visible and "DM" not in visible


def test_rejected_feedback_buttons_fall_back_to_classic_buttons_that_still_vote(stub_app):
    channel = _channel()
    rejected = '{"ok": false, "error": "invalid_blocks"}'
    stub_app.fake.fail("chat.postMessage", 200, body=rejected)
    stub_app.sim.mention("what is gitops", channel)
    calls = stub_app.fake.wait_for("chat.postMessage", count=2, channel=channel)
    kinds = [[b["type"] for b in c.params["blocks"]] for c in calls]
    assert "context_actions" in kinds[0] and "context_actions" not in kinds[1]
    assert "actions" in kinds[1]
    message = next(m for m in stub_app.fake.messages if m.get("bot_id") and m["channel"] == channel)
    url = stub_app.fake.response_url(channel + "-vote")
    assert stub_app.sim.click(message, "down", "UVOTER9", url).status == 200
    (thanks,) = stub_app.fake.wait_for("chat.postEphemeral", channel=channel, user="UVOTER9")
    assert "Thanks" in thanks.params["text"]
    assert not stub_app.fake.find("chat.update", channel=channel)  # the buttons stay
