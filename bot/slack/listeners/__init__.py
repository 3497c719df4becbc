"""One module per Slack surface; `register_all` wires them in a fixed order.

Order matters: Bolt runs the first matching listener, so the catch-all that acks
unknown events (avoiding 404s that Slack would retry) is registered last.
"""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners import (
    actions,
    assistant,
    channels,
    commands,
    escalation,
    events,
    views,
)
from bot.slack.services import Services


def register_all(app: App, services: Services) -> None:
    assistant.register(app, services)  # middleware: only AI-app events and threaded DMs
    views.register(app, services)
    commands.register(app, services)
    actions.register(app, services)
    escalation.register(app, services)
    channels.register(app, services)  # channel messages; before events' DM listener
    events.register(app, services)  # includes the catch-all, so it goes last
