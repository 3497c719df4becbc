"""Slack's AI-app assistant threads (optional): suggested prompts, a "thinking" status.

Harmless where the feature is off: those events never arrive, and Bolt's Assistant
routes every threaded DM here, which we answer exactly like any other DM thread.
The status is only set in threads that Slack announced as assistant threads, so
plain DM threads never see a failing assistant.threads.setStatus call.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from slack_bolt import (
    Ack,
    App,
    Assistant,
    BoltContext,
    BoltRequest,
    Say,
    SetStatus,
    SetSuggestedPrompts,
)
from slack_sdk import WebClient

from bot.access import Asker
from bot.observability.metrics import EVENTS
from bot.slack.listeners.events import answer_event, claim, is_user_dm
from bot.slack.listeners.views import example_questions
from bot.slack.services import Services

GREETING = "Hi! Ask me anything about our DevOps and MLOps docs; I'll show my sources."


class ThreadSet:
    """Bounded, thread-safe memory of assistant threads (channel, thread_ts)."""

    def __init__(self, limit: int = 10_000) -> None:
        self._items: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._lock = threading.Lock()
        self._limit = limit

    def add(self, channel: str, thread_ts: str) -> None:
        with self._lock:
            self._items[(channel, thread_ts)] = None
            while len(self._items) > self._limit:
                self._items.popitem(last=False)

    def __contains__(self, key: tuple[str, str]) -> bool:
        with self._lock:
            return key in self._items


def greet(services: Services, say: Say, set_prompts: SetSuggestedPrompts, asker: Asker) -> None:
    try:
        say(GREETING)
    except ValueError:  # Bolt could not tell where the thread is: nobody to greet
        return
    prompts = example_questions(services, asker, limit=4)
    if prompts:
        set_prompts(prompts=prompts, title="Try one of these:")


def register(app: App, services: Services) -> None:
    assistant = Assistant()
    threads = ThreadSet()

    @assistant.thread_started
    def on_thread_started(
        ack: Ack, event: dict, say: Say, set_suggested_prompts: SetSuggestedPrompts
    ) -> None:
        ack()
        thread = event.get("assistant_thread") or {}
        if thread.get("channel_id") and thread.get("thread_ts"):
            threads.add(thread["channel_id"], thread["thread_ts"])
        EVENTS.labels("assistant").inc()
        asker = Asker(user=str(thread.get("user_id") or ""), surface="assistant", private=True)
        services.submit(greet, services, say, set_suggested_prompts, asker)

    @assistant.user_message
    def on_user_message(
        ack: Ack,
        body: dict,
        event: dict,
        context: BoltContext,
        client: WebClient,
        request: BoltRequest,
        set_status: SetStatus,
    ) -> None:
        ack()
        if not is_user_dm(event, context.bot_user_id) or not claim(services, body, event, request):
            return
        EVENTS.labels("dm").inc()
        in_assistant_thread = (event["channel"], event.get("thread_ts", "")) in threads
        if in_assistant_thread:
            services.background(set_status, "is thinking…")
        surface = "assistant" if in_assistant_thread else "dm"
        answer_event(
            services, client, event, context, thread_ts=event.get("thread_ts"), surface=surface
        )

    app.use(assistant)
