"""Every payload shape Slack documents, signed and sent to the real Bolt app with fields
missing, emptied or of the wrong type: each gets a 200 or a 4xx, never a 500."""

from __future__ import annotations

import copy
import json
import time
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from fake_slack import BOT_USER_ID, TEAM_ID

RESPONSE_URL = "http://127.0.0.1:9/response/x"  # the fake Slack's, at send time
TEAM = {"id": TEAM_ID, "domain": "fake"}
USER = {"id": "UHUMAN1", "username": "human", "team_id": TEAM_ID}
VIEW = {
    "id": "V1",
    "type": "modal",
    "callback_id": "opsbot_modal",
    "private_metadata": "",
    "state": {"values": {}},
    "hash": "1.2",
}
MESSAGE = {"type": "message", "user": "UHUMAN1", "ts": "1700000000.000100", "text": "hi"}
INTERACTIVE: dict[str, dict[str, Any]] = {
    "block_actions": {
        "type": "block_actions",
        "team": TEAM,
        "user": USER,
        "api_app_id": "A0000001",
        "trigger_id": "1.2.3",
        "container": {"type": "message", "message_ts": MESSAGE["ts"], "channel_id": "C1"},
        "channel": {"id": "C1", "name": "general"},
        "message": MESSAGE,
        "response_url": RESPONSE_URL,
        "actions": [
            {
                "type": "feedback_buttons",
                "action_id": "opsbot_feedback",
                "block_id": "opsbot_feedback",
                "value": "up:1",
                "action_ts": "1700000001.0",
            }
        ],
    },
    "view_submission": {
        "type": "view_submission",
        "team": TEAM,
        "user": USER,
        "api_app_id": "A0000001",
        "trigger_id": "1.2.3",
        "view": VIEW,
    },
    "view_closed": {
        "type": "view_closed",
        "team": TEAM,
        "user": USER,
        "api_app_id": "A0000001",
        "view": VIEW,
        "is_cleared": False,
    },
    "shortcut": {
        "type": "shortcut",
        "team": TEAM,
        "user": USER,
        "api_app_id": "A0000001",
        "callback_id": "opsbot_shortcut",
        "trigger_id": "1.2.3",
        "action_ts": "1700000001.0",
    },
    "message_action": {
        "type": "message_action",
        "team": TEAM,
        "user": USER,
        "api_app_id": "A0000001",
        "callback_id": "opsbot_ask",
        "trigger_id": "1.2.3",
        "channel": {"id": "C1"},
        "message": MESSAGE,
        "response_url": RESPONSE_URL,
        "message_ts": MESSAGE["ts"],
    },
    "block_suggestion": {
        "type": "block_suggestion",
        "team": TEAM,
        "user": USER,
        "api_app_id": "A0000001",
        "action_id": "opsbot_pick",
        "block_id": "b",
        "value": "x",
    },
}
EVENTS: dict[str, dict[str, Any]] = {
    "app_mention": {
        "type": "app_mention",
        "user": "UHUMAN1",
        "text": f"<@{BOT_USER_ID}> what is mlops?",
        "ts": "1700000000.000200",
        "channel": "C1",
        "event_ts": "1700000000.000200",
    },
    "message.im": {
        "type": "message",
        "channel_type": "im",
        "user": "UHUMAN1",
        "text": "what is mlops?",
        "ts": "1700000000.000300",
        "channel": "D1",
        "event_ts": "1700000000.000300",
    },
    "app_home_opened": {"type": "app_home_opened", "user": "UHUMAN1", "tab": "home"},
    "assistant_thread_started": {
        "type": "assistant_thread_started",
        "assistant_thread": {
            "user_id": "UHUMAN1",
            "channel_id": "D1",
            "thread_ts": "1700000000.000400",
            "context": {"channel_id": "C1", "team_id": TEAM_ID},
        },
    },
    "assistant_thread_context_changed": {
        "type": "assistant_thread_context_changed",
        "assistant_thread": {
            "user_id": "UHUMAN1",
            "channel_id": "D1",
            "thread_ts": "1700000000.000400",
            "context": {"channel_id": "C2", "team_id": TEAM_ID},
        },
    },
}
COMMAND = {
    "token": "legacy",
    "team_id": TEAM_ID,
    "channel_id": "C1",
    "user_id": "UHUMAN1",
    "user_name": "human",
    "command": "/opsbot",
    "text": "what is mlops?",
    "api_app_id": "A0000001",
    "response_url": RESPONSE_URL,
    "trigger_id": "1.2.3",
}
ODD_VALUES = (None, "", 0, [], {}, [{}], "x")


def variants(payload: dict[str, Any], depth: int = 2) -> list[tuple[str, dict[str, Any]]]:
    """The payload with each field (down to `depth` levels, and inside the first list
    item) missing or replaced by an odd value."""
    out: list[tuple[str, dict[str, Any]]] = []

    def walk(node: Any, path: list[Any], level: int) -> None:
        keys = list(node) if isinstance(node, dict) else [0] if node else []
        for key in keys:
            for odd in ("missing", *ODD_VALUES):
                changed = copy.deepcopy(payload)
                parent = changed
                for step in path:
                    parent = parent[step]
                if odd == "missing":
                    del parent[key]
                else:
                    parent[key] = copy.deepcopy(odd)
                out.append((f"{'.'.join(map(str, [*path, key]))}={odd!r}", changed))
            child = node[key]
            if level < depth and isinstance(child, (dict, list)):
                walk(child, [*path, key], level + 1)

    walk(payload, [], 0)
    return out


def _interactive_body(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


def _cases() -> list[tuple[str, str, Any]]:
    cases: list[tuple[str, str, Any]] = []
    for name, payload in INTERACTIVE.items():
        cases += [
            ("interactive", f"{name} {k}", v) for k, v in [("as is", payload), *variants(payload)]
        ]
    for name, event in EVENTS.items():
        cases += [("event", f"{name} {k}", v) for k, v in [("as is", event), *variants(event)]]
    cases += [
        ("command", f"command {k}", v) for k, v in [("as is", COMMAND), *variants(COMMAND, 0)]
    ]
    return cases


def test_actions_with_an_empty_action_is_not_a_500(stub_app):
    payload = copy.deepcopy(INTERACTIVE["block_actions"])
    payload["actions"] = [{}]
    reply = stub_app.sim.post(_interactive_body(payload), "application/x-www-form-urlencoded")
    assert reply.status < 500, reply.body


def test_every_documented_shape_with_fields_missing_is_200_or_4xx(stub_app, caplog):
    failures = []
    for kind, name, payload in _cases():
        if kind == "interactive":
            body, ctype = _interactive_body(payload), "application/x-www-form-urlencoded"
        elif kind == "event":
            body, ctype = stub_app.sim.event_body(payload), "application/json"
        else:
            form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in payload.items()}
            body, ctype = urlencode(form), "application/x-www-form-urlencoded"
        body = body.replace(
            quote(RESPONSE_URL, safe=""), quote(stub_app.fake.response_url("x"), safe="")
        )
        reply = stub_app.sim.post(body, ctype)
        if reply.status >= 500:
            failures.append(name)
    assert not failures, f"{len(failures)} payloads got a 5xx: {failures}"
    time.sleep(1.0)  # after-ack work (answers, votes) runs off the request thread
    assert stub_app.sim.get("/healthz").status == 200
    tracebacks = [r.getMessage() for r in caplog.records if r.exc_info]
    assert not tracebacks, tracebacks  # odd input is acked or answered, never a crash


@pytest.mark.parametrize("shape", ["url_verification", "event_callback"])
def test_outer_envelope_with_fields_missing_is_200_or_4xx(stub_app, shape):
    envelope = json.loads(stub_app.sim.event_body(EVENTS["app_mention"]))
    if shape == "url_verification":
        envelope = {"token": "legacy", "challenge": "abc", "type": "url_verification"}
    for label, variant in variants(envelope, depth=0):
        reply = stub_app.sim.post(json.dumps(variant), "application/json")
        assert reply.status < 500, (label, reply.body)
