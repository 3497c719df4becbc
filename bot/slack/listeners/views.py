"""App Home tab: published on app_home_opened, built from what the index holds."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.slack import blocks
from bot.slack.app import EVENTS

if TYPE_CHECKING:
    from bot.slack.app import Services

log = logging.getLogger(__name__)


def example_questions(topics: list[str], limit: int = 4) -> list[str]:
    """Questions that the index can answer, made from its document titles."""
    return [f"What should I know about {t}?" for t in topics[:limit]]


def publish_home(services: Services, client: WebClient, user_id: str) -> None:
    topics = services.topics()
    view = blocks.render_home(topics, services.engine.chunk_count, example_questions(topics))
    client.views_publish(user_id=user_id, view=view)


def register(app: App, services: Services) -> None:
    @app.event("app_home_opened")
    def on_home_opened(ack: Ack, event: dict, client: WebClient) -> None:
        ack()
        if event.get("tab", "home") != "home" or not event.get("user"):
            return  # the Messages tab needs nothing from us
        EVENTS.labels("home").inc()
        services.submit(publish_home, services, client, event["user"])
