"""End to end over HTTP: `opsbot serve --http` (real engine, real model) against a fake Slack.

Requests are signed exactly as Slack signs them; assertions are on what reached the
fake Slack Web API (and the SQLite file), never on internals.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import time
import uuid

import pytest
from fake_slack import BOT_ID, BOT_USER_ID
from serve_proc import KNOWLEDGE_URL, app_env
from slack_sim import BROADCASTS, posted_text, raw_markdown, sign, visible_texts


def _channel(prefix: str = "C") -> str:
    return prefix + uuid.uuid4().hex[:8].upper()


def _answer_text(call) -> str:
    return " ".join(
        b["text"]["text"] for b in call.params["blocks"] if b["type"] == "section" and "text" in b
    )


def test_health_and_unknown_paths(live):
    assert live.sim.get("/healthz").status == 200
    assert live.sim.get("/healthz").json()["chunks"] > 0
    assert live.sim.get("/nope").status == 404
    assert live.sim.get("/slack/events").status == 405


def test_url_verification(live):
    body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "x"})
    reply = live.sim.post(body, "application/json")
    assert reply.status == 200 and "c-123" in reply.body


def test_mention_answers_in_thread_with_sources_buttons_and_eyes(live):
    channel = _channel()
    event = live.sim.mention("What is MLOps?", channel)
    assert event["reply"].status == 200 and event["reply"].seconds < 0.5
    (post,) = live.fake.wait_for("chat.postMessage", channel=channel)
    assert post.params["thread_ts"] == event["ts"]
    sent = posted_text(post.params)
    assert "machine learning" in _answer_text(post)
    assert "devops-vs-mlops.md" in sent and "DevOps vs MLOps" in sent
    assert any(b["type"] == "context_actions" for b in post.params["blocks"])
    assert post.params["text"] and not any(t in sent for t in BROADCASTS)
    (removed,) = live.fake.wait_for("reactions.remove", channel=channel)
    (added,) = live.fake.find("reactions.add", channel=channel)
    assert added.params["timestamp"] == removed.params["timestamp"] == event["ts"]
    assert added.params["name"] == "eyes" and added.at < removed.at and post.at < removed.at


def test_answer_is_clean_mrkdwn_with_numbered_linked_sources(live):
    channel = _channel()
    live.sim.mention("devops vs mlops - what's actually different?", channel)
    (post,) = live.fake.wait_for("chat.postMessage", channel=channel)
    texts = visible_texts(post.params)
    assert all(not raw_markdown(t) for t in texts), [(t[:80], raw_markdown(t)) for t in texts]
    joined = "\n".join(texts)
    link = re.escape(f"<{KNOWLEDGE_URL}devops-vs-mlops.md") + r"(#[a-z0-9-]+)?\|"
    assert re.search(r"\[1\] " + link, joined) and re.search(r"\[2\] " + link, joined), joined
    assert "— DevOps vs MLOps: differences and similarities>" in joined  # heading — title
    assert "devops-vs-mlops.md ›" not in joined and "*Sources*" not in joined
    assert len(post.params["text"]) <= 300 and "**" not in post.params["text"]


def test_decline_is_short_with_the_nearest_topics_and_no_dm_offer(live):
    channel = _channel()
    live.sim.mention("what is the best pizza in Naples?", channel)
    (post,) = live.fake.wait_for("chat.postMessage", channel=channel)
    texts = visible_texts(post.params)
    visible = " ".join(texts[1:])
    assert len(visible) <= 300, visible
    assert "Nearest topics: *" in visible
    title = "DevOps vs MLOps: differences and similarities"
    assert f"*{title}*" in visible or f"devops-vs-mlops.md|{title}>" in visible  # linked if known
    assert "Tip:" in visible and "DM" not in visible
    assert all(not raw_markdown(t) for t in texts)
    assert not any(b["type"] in ("actions", "context_actions") for b in post.params["blocks"])


def test_a_question_about_a_tool_no_doc_mentions_is_declined_by_name(live):
    channel = _channel()
    live.sim.mention("how do we configure opsgenie so terraform plan runs on every PR?", channel)
    (post,) = live.fake.wait_for("chat.postMessage", channel=channel)
    visible = " ".join(visible_texts(post.params))
    assert "My docs never mention “opsgenie”, so I won't guess." in visible
    assert "Nearest topics: *" in visible


def test_a_name_that_is_also_an_english_word_is_said_first_above_the_closest_answer(live):
    channel = _channel()
    live.sim.mention("how do we configure atlantis so terraform plan runs on every PR?", channel)
    (post,) = live.fake.wait_for("chat.postMessage", channel=channel)
    visible = " ".join(visible_texts(post.params))
    assert visible.lstrip("_ ").startswith("My docs never mention “atlantis”")


def test_share_button_posts_the_ephemeral_answer_publicly_once(live):
    channel = _channel()
    live.sim.command("What is MLOps?", channel, live.fake.response_url(channel))
    (ephemeral,) = live.fake.wait_for("response_url", response_url_id=channel)
    assert ephemeral.params["response_type"] == "ephemeral"
    message = {**ephemeral.params, "ts": live.fake.next_ts(), "channel": channel}
    share_url = live.fake.response_url(channel + "-share")
    for _ in range(2):  # a double click
        assert live.sim.share(message, "UHUMAN1", share_url).status == 200
    live.fake.wait_for("response_url", count=2, response_url_id=channel + "-share")
    time.sleep(0.5)
    calls = live.fake.find("response_url", response_url_id=channel + "-share")
    public = [c for c in calls if c.params.get("response_type") == "in_channel"]
    assert len(calls) == 2 and len(public) == 1
    sent = posted_text(public[0].params)
    assert "<@UHUMAN1> asked: What is MLOps?" in sent and "machine learning" in sent
    assert any(b["type"] == "context_actions" for b in public[0].params["blocks"])


def _follow_up_in_thread(live, question: str, follow_up: str):
    """Mention the bot with `question`, then with `follow_up` in its thread; the reply."""
    channel = _channel()
    first = live.sim.mention(question, channel)
    live.fake.wait_for("chat.postMessage", channel=channel)
    live.sim.mention(follow_up, channel, thread_ts=first["ts"])
    follow = live.fake.wait_for("chat.postMessage", count=2, channel=channel)[1]
    assert follow.params["thread_ts"] == first["ts"]
    return follow


def test_thread_follow_up_uses_the_earlier_question(live):
    follow = _follow_up_in_thread(live, "devops vs mlops differences", "and what about the tools?")
    assert "special tools" in _answer_text(follow)
    alone = _channel()
    live.sim.mention("and what about the tools?", alone)
    (single,) = live.fake.wait_for("chat.postMessage", channel=alone)
    assert _answer_text(single) != _answer_text(follow)


def test_comparison_in_a_dm_leads_with_the_section_that_answers(live):
    """The article is one document of several: other files must not push its answer out."""
    channel = _channel("D")
    dm = {"type": "message", "channel_type": "im", "user": "UHUMAN1", "channel": channel}
    text = "what do devops and mlops have in common?"
    assert live.sim.event({**dm, "text": text, "ts": live.fake.next_ts()}).status == 200
    (post,) = live.fake.wait_for("chat.postMessage", channel=channel)
    answer = _answer_text(post)
    sent = posted_text(post.params)
    assert "What They Have in Common" in sent
    assert "repetitive tasks" in answer[:400]
    assert "[1]" in answer
    assert "Terraform" not in sent and "paging" not in sent.lower()
    assert "##" not in sent and "**" not in sent


def test_off_topic_follow_up_in_a_thread_is_declined(live):
    follow = _follow_up_in_thread(
        live, "how is devops different from mlops?", "what is a good pasta recipe?"
    )
    assert "won't guess" in posted_text(follow.params)


def test_dm_is_answered_and_empty_mention_gets_help(live):
    channel = _channel("D")
    dm = {"type": "message", "channel_type": "im", "user": "UHUMAN1", "channel": channel}
    assert (
        live.sim.event({**dm, "text": "What is DevOps?", "ts": live.fake.next_ts()}).status == 200
    )
    (post,) = live.fake.wait_for("chat.postMessage", channel=channel)
    assert "DevOps" in _answer_text(post)
    help_channel = _channel()
    live.sim.mention("", help_channel)
    (help_post,) = live.fake.wait_for("chat.postMessage", channel=help_channel)
    assert "/opsbot" in posted_text(help_post.params)


def test_slash_command_answers_ephemerally_through_response_url(live):
    channel = _channel()
    url = live.fake.response_url(channel)
    reply = live.sim.command("What is MLOps?", channel, url)
    assert reply.status == 200 and reply.seconds < 0.5
    (call,) = live.fake.wait_for("response_url", response_url_id=channel)
    assert call.params["response_type"] == "ephemeral"
    assert "What is MLOps?" in posted_text(call.params)  # the question is echoed
    assert "machine learning" in posted_text(call.params)


def test_slash_help_and_empty_command_answer_in_the_ack(live):
    for text in ("help", "", "   ", "share"):
        channel = _channel()
        reply = live.sim.command(text, channel, live.fake.response_url(channel))
        assert reply.status == 200
        body = reply.json()
        assert body["response_type"] == "ephemeral" and "/opsbot share" in reply.body
    time.sleep(0.3)
    assert not live.fake.find("response_url", response_url_id=channel)


def test_slash_share_posts_in_channel_with_the_question_inert(live):
    channel = _channel()
    question = "<!channel> <@U123ABC> <https://evil.example|docs> what is mlops?"
    live.sim.command(f"share {question}", channel, live.fake.response_url(channel))
    (call,) = live.fake.wait_for("response_url", response_url_id=channel)
    assert call.params["response_type"] == "in_channel"
    sent = posted_text(call.params)
    assert not any(t in sent for t in BROADCASTS)  # the engine strips markup; we escape the rest
    assert "what is mlops?" in sent and "machine learning" in sent


def test_feedback_is_one_vote_per_user_changed_by_a_second_click_and_thanked_privately(live):
    channel = _channel()
    live.sim.mention("What is MLOps?", channel)
    (post,) = live.fake.wait_for("chat.postMessage", channel=channel)
    message = next(m for m in live.fake.messages if m.get("bot_id") and m["channel"] == channel)
    url = live.fake.response_url(channel)
    assert live.sim.click(message, "up", "UVOTER1", url).status == 200
    (thanks,) = live.fake.wait_for("chat.postEphemeral", channel=channel, user="UVOTER1")
    assert thanks.params["text"].startswith("👍 Thanks")
    assert not live.fake.find("chat.update", channel=channel)  # the buttons stay for everyone
    live.sim.click(message, "down", "UVOTER1", url)
    live.fake.wait_for("chat.postEphemeral", count=2, channel=channel, user="UVOTER1")
    db = sqlite3.connect(live.data_dir / "opsbot.sqlite3")
    rows = db.execute(
        "SELECT question, answer, sources, user_id, vote FROM feedback WHERE channel = ?",
        (channel,),
    ).fetchall()
    db.close()
    assert len(rows) == 1
    question, answer, sources, user, vote = rows[0]
    assert (question, user, vote) == ("What is MLOps?", "UVOTER1", "down")
    assert "machine learning" in answer
    assert json.loads(sources)[0]["path"].endswith("devops-vs-mlops.md")


def test_app_home_is_published(live):
    event = {"type": "app_home_opened", "user": "UHOME02", "channel": "D2", "tab": "home"}
    assert live.sim.event(event).status == 200
    (call,) = live.fake.wait_for("views.publish", user_id="UHOME02")
    view = call.params["view"]
    assert "DevOps vs MLOps" in json.dumps(view) and "/opsbot" in json.dumps(view)


def test_bad_signature_and_stale_timestamp_are_rejected(live):
    channel = _channel()
    body = live.sim.event_body(
        {"type": "app_mention", "user": "U1", "text": "hi", "ts": "1.1", "channel": channel}
    )
    wrong = {**sign(body), "X-Slack-Signature": "v0=" + "0" * 64}
    assert live.sim.post(body, "application/json", signed=False, headers=wrong).status == 401
    stale = sign(body, timestamp=int(time.time()) - 6 * 60)
    assert live.sim.post(body, "application/json", signed=False, headers=stale).status == 401
    assert live.sim.post(body, "application/json", signed=False).status == 401
    time.sleep(0.3)
    assert not live.fake.find("chat.postMessage", channel=channel)


def test_malformed_bodies_get_4xx_and_the_server_keeps_serving(live):
    assert live.sim.post("{not json", "application/json").status == 400
    assert live.sim.post("payload=%7Bbroken", "application/x-www-form-urlencoded").status == 400
    assert live.sim.post('{"event": "x"}', "application/json").status < 500
    assert live.sim.post("", "application/json").status < 500
    channel = _channel()
    live.sim.mention("What is MLOps?", channel)
    live.fake.wait_for("chat.postMessage", channel=channel)


def test_huge_question_is_answered_truncated(live):
    channel = _channel()
    event = live.sim.mention("What is MLOps? " + "x" * 50_000, channel)
    assert event["reply"].status == 200
    (post,) = live.fake.wait_for("chat.postMessage", channel=channel)
    assert "question was long" in posted_text(post.params)


def test_retried_event_is_answered_once(live):
    channel = _channel()
    event = {"type": "app_mention", "user": "U1", "text": f"<@{BOT_USER_ID}> What is MLOps?"}
    event |= {"ts": live.fake.next_ts(), "channel": channel}
    body = live.sim.event_body(event, event_id="EvRETRY" + channel)
    assert live.sim.post(body, "application/json").status == 200
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert live.sim.post(body, "application/json", headers=retry).status == 200
    live.fake.wait_for("chat.postMessage", channel=channel)
    time.sleep(0.5)
    assert len(live.fake.find("chat.postMessage", channel=channel)) == 1


def test_bot_self_and_edited_messages_are_acked_and_ignored(live):
    channel = _channel("D")
    base = {"type": "message", "channel_type": "im", "channel": channel, "text": "What is MLOps?"}
    ignored = [
        {**base, "user": "UOTHERBOT", "bot_id": "BOTHER1", "subtype": "bot_message"},
        {**base, "user": BOT_USER_ID, "bot_id": BOT_ID},
        {**base, "subtype": "message_changed", "message": {"text": "x"}},
        {**base, "subtype": "channel_join", "user": "UHUMAN1"},
        {**base, "channel_type": "channel", "user": "UHUMAN1"},
    ]
    for event in ignored:
        assert live.sim.event({**event, "ts": live.fake.next_ts()}).status == 200
    time.sleep(0.5)
    assert not live.fake.find("chat.postMessage", channel=channel)


def test_slack_errors_are_retried_or_logged_and_serving_goes_on(live):
    for status, attempts in ((500, 1), (429, 1), (500, 3)):
        channel = _channel()
        live.fake.fail("chat.postMessage", status, times=attempts, retry_after=1)
        live.sim.mention("What is MLOps?", channel)
        expected = min(attempts + 1, 3)
        calls = live.fake.wait_for("chat.postMessage", count=expected, channel=channel, timeout=20)
        assert len(calls) == expected
    channel = _channel()
    live.sim.mention("What is MLOps?", channel)
    live.fake.wait_for("chat.postMessage", channel=channel)
    assert live.proc.poll() is None


@pytest.mark.parametrize(
    ("args", "unset", "override", "variable"),
    [
        (["--http", "--port", "3999"], "SLACK_BOT_TOKEN", {}, "SLACK_BOT_TOKEN"),
        (["--http", "--port", "3999"], "", {"SLACK_BOT_TOKEN": "xoxp-user"}, "SLACK_BOT_TOKEN"),
        (["--http", "--port", "3999"], "SLACK_SIGNING_SECRET", {}, "SLACK_SIGNING_SECRET"),
        ([], "SLACK_APP_TOKEN", {}, "SLACK_APP_TOKEN"),
    ],
)
def test_missing_or_malformed_token_is_one_line_exit_2(tmp_path, args, unset, override, variable):
    env = app_env(FakeSlackAddress(), tmp_path, **override)
    env.pop(unset, None)
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "serve", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0] and "Connect to Slack" in lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout


class FakeSlackAddress:
    """Token checks fail before any connection, so no fake server is needed."""

    url = "http://127.0.0.1:9/api/"
