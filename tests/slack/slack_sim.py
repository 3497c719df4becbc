"""Slack's side of HTTP mode: payloads built like Slack's, signed like Slack signs them."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fake_slack import BOT_USER_ID, SIGNING_SECRET, TEAM_ID, FakeSlack

BROADCASTS = ("<!channel", "<!here", "<!everyone", "<@U123", "<https://evil")
_RAW_MARKDOWN = re.compile(r"\*\*|__|~~|^#{1,6} |\]\(|!\[|^\s*[-*+] |^\|.*\|$", re.M)


def visible_texts(params: dict[str, Any]) -> list[str]:
    """Every text a user can see in one message: the fallback first, then each block text."""
    found = [params.get("text") or ""]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text"):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    blocks = params.get("blocks")
    walk(json.loads(blocks) if isinstance(blocks, str) else blocks)
    return found


def raw_markdown(text: str) -> list[str]:
    """Markdown markers Slack would show raw (outside code blocks): **, ##, ~~, [x](y), …"""
    outside = re.sub(r"```.*?```|`[^`\n]*`", "", text, flags=re.S)
    return _RAW_MARKDOWN.findall(outside)


def sign(body: str, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    """Headers exactly as Slack signs a request: v0=HMAC-SHA256(v0:timestamp:body)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


@dataclass
class Reply:
    status: int
    body: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class SlackSim:
    """Plays Slack's side of HTTP mode: builds payloads, signs them, posts them."""

    base: str  # "127.0.0.1:port"
    fake: FakeSlack
    sent: list[str] = field(default_factory=list)

    def post(
        self, body: str, content_type: str, *, signed: bool = True, headers: dict | None = None
    ) -> Reply:
        all_headers = {"Content-Type": content_type, **(sign(body) if signed else {})}
        all_headers |= headers or {}
        started = time.perf_counter()
        conn = http.client.HTTPConnection(self.base, timeout=30)
        try:
            conn.request("POST", "/slack/events", body=body.encode(), headers=all_headers)
            resp = conn.getresponse()
            data = resp.read().decode()
        finally:
            conn.close()
        return Reply(resp.status, data, time.perf_counter() - started)

    def get(self, path: str) -> Reply:
        started = time.perf_counter()
        conn = http.client.HTTPConnection(self.base, timeout=10)
        conn.request("GET", path)
        resp = conn.getresponse()
        return Reply(resp.status, resp.read().decode(), time.perf_counter() - started)

    def event_body(self, event: dict[str, Any], event_id: str | None = None) -> str:
        return json.dumps(
            {
                "token": "legacy",
                "team_id": TEAM_ID,
                "api_app_id": "A0000001",
                "event": event,
                "type": "event_callback",
                "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
            }
        )

    def event(self, event: dict[str, Any], event_id: str | None = None, **kw: Any) -> Reply:
        return self.post(self.event_body(event, event_id), "application/json", **kw)

    def mention(self, text: str, channel: str, thread_ts: str | None = None, **kw: Any) -> dict:
        """Post an app_mention; returns the event (its ts is where the reply must go)."""
        event = {
            "type": "app_mention",
            "user": "UHUMAN1",
            "text": f"<@{BOT_USER_ID}> {text}",
            "ts": self.fake.next_ts(),
            "channel": channel,
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        extra = {"thread_ts": thread_ts} if thread_ts else {}
        self.fake.add_message(channel, event["text"], ts=event["ts"], **extra)
        event["reply"] = self.event(event, **kw)
        return event

    def command(self, text: str, channel: str, response_url: str, **kw: Any) -> Reply:
        form = {
            "token": "legacy",
            "team_id": TEAM_ID,
            "channel_id": channel,
            "user_id": "UHUMAN1",
            "user_name": "human",
            "command": "/opsbot",
            "text": text,
            "api_app_id": "A0000001",
            "response_url": response_url,
            "trigger_id": "1.2.3",
        }
        return self.post(urlencode(form), "application/x-www-form-urlencoded", **kw)

    def click(self, message: dict, vote: str, user: str, response_url: str, **kw: Any) -> Reply:
        """A block_actions click on a feedback button of `message` (as posted to the fake)."""
        blocks = message.get("blocks")
        blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
        classic = [
            e
            for b in blocks
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == f"opsbot_vote_{vote}"
        ]
        if classic:  # the plain-button fallback
            action = {**classic[0], "block_id": "opsbot_feedback", "type": "button"}
            return self._block_action(message, blocks, action, user, response_url, **kw)
        element = next(
            e for b in blocks if b["type"] == "context_actions" for e in b["elements"]
        )  # Slack's feedback_buttons: the click carries the chosen button's value
        chosen = element["positive_button" if vote == "up" else "negative_button"]
        action = {"type": "feedback_buttons", "action_id": element["action_id"]}
        action |= {"block_id": "opsbot_feedback", "value": chosen["value"]}
        return self._block_action(message, blocks, action, user, response_url, **kw)

    def share(self, message: dict, user: str, response_url: str, **kw: Any) -> Reply:
        """A click on the "Share in channel" button of an ephemeral `message`."""
        blocks = message["blocks"]
        button = next(e for b in blocks if b["type"] == "actions" for e in b["elements"])
        action = {**button, "block_id": "opsbot_share", "type": "button"}
        return self._block_action(message, blocks, action, user, response_url, True, **kw)

    def _block_action(
        self,
        message: dict,
        blocks: list,
        action: dict,
        user: str,
        response_url: str,
        ephemeral: bool = False,
        **kw: Any,
    ) -> Reply:
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM_ID},
            "user": {"id": user},
            "api_app_id": "A0000001",
            "container": {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": message["channel"],
                "is_ephemeral": ephemeral,
            },
            "channel": {"id": message["channel"]},
            "response_url": response_url,
            "actions": [action],
        }
        if not ephemeral:  # Slack leaves ephemeral messages out of the payload
            payload["message"] = {"ts": message["ts"], "text": message.get("text")}
            payload["message"]["blocks"] = blocks
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded", **kw)


def posted_text(call_params: dict[str, Any]) -> str:
    """Everything the app sent in one call (text + blocks), for broadcast checks."""
    return json.dumps({k: call_params.get(k) for k in ("text", "blocks")})
