"""Signed but oddly shaped Slack payloads, made safe before Bolt sees them.

A valid signature proves who sent a payload, not that its fields have the types Bolt's
middleware and our listeners assume. `repair` fixes what can be fixed in place (a
numeric `text`, a non-list `authorizations`, strings among `actions`) and says when a
payload should just be acked: there is nothing to act on and nobody to reply to.
"""

from __future__ import annotations

from typing import Any

ASSISTANT_EVENTS = ("assistant_thread_started", "assistant_thread_context_changed")
# Fields Bolt's matchers read without a check, per interactive payload type: a signed
# payload without them has nothing to act on (acked), never a KeyError and a 500.
REQUIRED_STRINGS: dict[str, tuple[str, ...]] = {
    "view_submission": ("view.type", "view.callback_id"),
    "view_closed": ("view.type", "view.callback_id"),
    "shortcut": ("callback_id",),
    "message_action": ("callback_id",),
    "block_suggestion": ("action_id", "block_id"),
    "interactive_message": ("callback_id",),
    "dialog_submission": ("callback_id",),
    "dialog_cancellation": ("callback_id",),
}
_EVENT_STRINGS = ("ts", "thread_ts", "channel", "user", "channel_type", "subtype", "bot_id")


class Unusable(ValueError):
    """Signed, well-formed JSON, but nothing in it we can act on: ack and move on."""


def repair(body: dict[str, Any]) -> bool:
    """Fix field types in place; True when anything changed. Raises Unusable."""
    changed = False
    if not isinstance(body.get("type", ""), str):
        raise Unusable("payload type is not a string")
    if body.get("type") == "event_callback" and not isinstance(body.get("event"), dict):
        raise Unusable("event_callback without an event object")
    auth = body.get("authorizations")
    if "authorizations" in body and not (
        isinstance(auth, list) and all(isinstance(a, dict) for a in auth)
    ):
        del body["authorizations"]  # Bolt falls back to auth.test for the bot's identity
        changed = True
    event = body.get("event")
    if isinstance(event, dict):
        changed |= _repair_event(event)
    if "command" in body and not str(body.get("response_url", "")).startswith("http"):
        raise Unusable("slash command without a response_url to answer on")
    for path in REQUIRED_STRINGS.get(body.get("type", ""), ()):
        if not isinstance(_get(body, path), str):
            raise Unusable(f"{body['type']} without a {path}")
    if "actions" in body:
        actions = body["actions"]
        kept = [
            a
            for a in (actions if isinstance(actions, list) else [])
            if isinstance(a, dict) and isinstance(a.get("action_id"), str) and a["action_id"]
        ]
        if not kept:
            raise Unusable("no usable actions")
        if kept != actions:
            body["actions"] = kept
            changed = True
    return changed


def _repair_event(event: dict[str, Any]) -> bool:
    changed = False
    if not isinstance(event.get("type"), str) or not event["type"]:
        raise Unusable("event without a type")
    if "text" in event and not isinstance(event["text"], str):
        event["text"] = text_of(event["text"])
        changed = True
    for key in _EVENT_STRINGS:
        if key not in event or isinstance(event[key], str):
            continue
        value = event[key]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            event[key] = str(value)
        else:  # null, lists, objects
            del event[key]  # listeners treat a missing field as "nothing to reply to"
        changed = True
    if event.get("type") in ASSISTANT_EVENTS:
        thread = event.get("assistant_thread")
        if not (
            isinstance(thread, dict)
            and isinstance(thread.get("channel_id"), str)
            and isinstance(thread.get("thread_ts"), str)
            and thread["channel_id"]
            and thread["thread_ts"]
        ):
            raise Unusable("assistant_thread without a channel and thread")
        if not isinstance(thread.get("context"), dict):
            thread["context"] = {}  # Bolt's assistant middleware reads it unchecked
            changed = True
    return changed


def _get(body: dict[str, Any], path: str) -> Any:
    """body["a"]["b"] for "a.b", or None where a step is missing or not an object."""
    node: Any = body
    for key in path.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    return node


def text_of(value: Any) -> str:
    """A question from whatever `text` held: numbers and lists of words become text."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, list):
        return " ".join(text_of(v) for v in value if isinstance(v, (str, int, float))).strip()
    return ""
