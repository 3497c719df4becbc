"""App Home tab: published on app_home_opened, built from what the index holds."""

from __future__ import annotations

import logging

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.access import Asker
from bot.engine.topics import Catalogue
from bot.observability.metrics import EVENTS
from bot.slack.home import render_home
from bot.slack.services import Services

log = logging.getLogger(__name__)


def catalogue(services: Services, asker: Asker) -> Catalogue:
    """What the index holds that this person may see (once per index and scope)."""
    return services.engine.catalogue(services.access.scope(asker))


def example_questions(services: Services, asker: Asker, limit: int = 4) -> list[str]:
    """Questions that the index can answer, made from its real headings."""
    return catalogue(services, asker).examples[:limit]


def publish_home(services: Services, client: WebClient, user_id: str) -> None:
    seen = catalogue(services, Asker(user=user_id, surface="home"))
    client.views_publish(user_id=user_id, view=render_home(seen))


def register(app: App, services: Services) -> None:
    @app.event("app_home_opened")
    def on_home_opened(ack: Ack, event: dict, client: WebClient) -> None:
        ack()
        if event.get("tab", "home") != "home" or not event.get("user"):
            return  # the Messages tab needs nothing from us
        EVENTS.labels("home").inc()
        services.submit(publish_home, services, client, event["user"])
