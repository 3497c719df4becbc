"""App Home tab: published on app_home_opened, built from what the index holds."""

from __future__ import annotations

import logging

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.access import Asker
from bot.engine.topics import Catalogue
from bot.observability.metrics import EVENTS
from bot.slack.home import EXAMPLE_ACTION_RE, render_home
from bot.slack.services import Services

log = logging.getLogger(__name__)


def catalogue(services: Services, asker: Asker) -> Catalogue:
    """What the index holds that this person may see (once per index and scope)."""
    return services.engine.catalogue(services.access.scope(asker))


def example_questions(services: Services, asker: Asker, limit: int = 4) -> list[str]:
    """Questions that the index can answer, made from its real headings."""
    return catalogue(services, asker).examples[:limit]


def publish_home(services: Services, client: WebClient, user_id: str) -> None:
    seen = catalogue(services, Asker(user=user_id, surface="home", private=True))
    sources = [spec.name for spec in services.access.specs()]
    client.views_publish(user_id=user_id, view=render_home(seen, sources))


def answer_in_messages(services: Services, client: WebClient, user: str, question: str) -> None:
    """Worker: a Home example clicked: the question and its answer in the Messages tab
    (the person's DM with opsbot), through the same answer step as any DM."""
    try:
        channel = str(client.conversations_open(users=user)["channel"]["id"])
    except (SlackApiError, KeyError, TypeError) as exc:
        log.info("conversations.open failed (%s); posting to the user id", exc)
        channel = user  # Slack delivers a bot's post to a user id to its Messages tab
    asker = Asker(user=user, channel=channel, surface="home", private=True)
    message, _, _ = services.ask(question, asker, echo_question=True)
    assert message is not None  # only unprompted declines go without a message
    client.chat_postMessage(channel=channel, unfurl_links=False, unfurl_media=False, **message)


def register(app: App, services: Services) -> None:
    @app.event("app_home_opened")
    def on_home_opened(ack: Ack, event: dict, client: WebClient) -> None:
        ack()
        if event.get("tab", "home") != "home" or not event.get("user"):
            return  # the Messages tab needs nothing from us
        EVENTS.labels("home").inc()
        services.submit(publish_home, services, client, event["user"])

    @app.action(EXAMPLE_ACTION_RE)
    def on_example(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        user = (body.get("user") or {}).get("id") if isinstance(body.get("user"), dict) else ""
        question = str(action.get("value") or "").strip()
        if not user or not question:
            return
        EVENTS.labels("home_example").inc()
        services.submit(answer_in_messages, services, client, str(user), question)
