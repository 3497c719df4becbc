"""manifest.json creates the app the code expects: same command, events, scopes, modes."""

from __future__ import annotations

import json
from pathlib import Path

from bot.slack.listeners.commands import COMMAND

MANIFEST = json.loads((Path(__file__).resolve().parents[2] / "manifest.json").read_text())


def test_manifest_matches_the_code():
    features, settings = MANIFEST["features"], MANIFEST["settings"]
    assert [c["command"] for c in features["slash_commands"]] == [COMMAND]
    assert features["app_home"]["home_tab_enabled"] is True
    assert features["app_home"]["messages_tab_enabled"] is True
    events = set(settings["event_subscriptions"]["bot_events"])
    # channel and private-channel messages: thread replies and help channels need no mention
    assert events == {
        "app_mention",
        "message.im",
        "message.channels",
        "message.groups",
        "app_home_opened",
    }
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    needed = {"app_mentions:read", "chat:write", "commands", "im:history", "reactions:write"}
    assert needed | {"channels:history", "groups:history", "usergroups:read"} <= scopes
