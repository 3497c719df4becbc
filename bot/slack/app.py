"""Build the Bolt app: clients, after-ack worker pool, listeners.

Listeners only parse the Slack payload, claim it (dedupe) and hand the slow part
(engine, Web API calls) to a worker pool, so Slack gets its ack in milliseconds
(`process_before_response=True`: the ack is sent when the listener returns, with no
polling) in both HTTP and Socket Mode.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.access import Access
from bot.answering import Answerer
from bot.config import Settings
from bot.observability.metrics import SLACK_API_ERRORS
from bot.settings_file import FileSettings, LiveConfig
from bot.slack.dedupe import Deduper
from bot.slack.groups import GroupMembers
from bot.slack.listeners import register_all
from bot.slack.services import EngineLike, Services
from bot.store import Store

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"


@dataclass(frozen=True)
class SlackEnv:
    """Slack credentials and endpoint, read from the environment (or .env, loaded by the CLI)."""

    bot_token: str = ""
    app_token: str = ""
    signing_secret: str = ""
    api_url: str = DEFAULT_API_URL

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> SlackEnv:
        env = dict(os.environ if env is None else env)
        api_url = env.get("SLACK_API_URL", "").strip() or DEFAULT_API_URL
        return cls(
            bot_token=env.get("SLACK_BOT_TOKEN", "").strip(),
            app_token=env.get("SLACK_APP_TOKEN", "").strip(),
            signing_secret=env.get("SLACK_SIGNING_SECRET", "").strip(),
            api_url=api_url if api_url.endswith("/") else api_url + "/",
        )


class ApiErrorCounter(RetryHandler):
    """Counts failed Web API calls by method; it never retries.

    Last in the retry chain, it is consulted only when no handler before it retries, so
    it sees each call's final outcome once: 429s and 5xx after the retries ran out,
    connection errors, and `ok: false` answers. Bolt copies `retry_handlers` into the
    client it makes per request, so listener calls are counted too.
    """

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        body = response.body if response is not None else None
        failed = (
            error is not None
            or response is None
            or response.status_code >= 400
            or (isinstance(body, dict) and body.get("ok") is False)
        )
        if failed:
            SLACK_API_ERRORS.labels(api_method(request.url)).inc()
        return False


def api_method(url: str) -> str:
    """'chat.postMessage' from https://slack.com/api/chat.postMessage?x=1."""
    return urlparse(url).path.rstrip("/").rsplit("/", 1)[-1] or "unknown"


def make_client(token: str | None, api_url: str = DEFAULT_API_URL) -> WebClient:
    """A WebClient on `api_url` retrying 429s (Retry-After), 5xx and connection errors."""
    client = WebClient(token=token, base_url=api_url, timeout=10)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    client.retry_handlers.append(ServerErrorRetryHandler(max_retry_count=2))
    client.retry_handlers.append(ApiErrorCounter())  # last: sees final outcomes only
    return client


class _DropClientTokenWarning(logging.Filter):
    """Bolt warns that SLACK_BOT_TOKEN is unused when a client is given; that is intended."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def build_app(
    settings: Settings,
    engine: EngineLike,
    store: Store,
    *,
    client: WebClient | None = None,
    token_verification: bool = True,
    slack: SlackEnv | None = None,
    workers: int | None = None,
    writer: Any = None,
    config: LiveConfig | FileSettings | None = None,
) -> App:
    """A ready Bolt app; `app.opsbot` holds its `Services` (pools to close on shutdown).
    `config` is opsbot.toml (channels, sources' access); none means every channel answers
    mentions from every source."""
    slack = slack or SlackEnv.from_env()
    if client is None:
        client = make_client(slack.bot_token or None, slack.api_url)
    workers = workers or max(4, min(8, 2 * (os.cpu_count() or 2)))  # I/O waits, 429 sleeps
    logging.getLogger("slack_bolt.App").addFilter(_DropClientTokenWarning())
    app = App(
        name="opsbot",
        client=client,
        signing_secret=slack.signing_secret,
        token_verification_enabled=token_verification,
        process_before_response=True,
        listener_executor=ThreadPoolExecutor(4, thread_name_prefix="bolt"),
    )
    access = Access(settings, config, members=GroupMembers(client))
    services = Services(
        settings=settings,
        engine=engine,
        store=store,
        client=client,
        deduper=Deduper(store),
        pool=ThreadPoolExecutor(workers, thread_name_prefix="answer"),
        io_pool=ThreadPoolExecutor(4, thread_name_prefix="slack-io"),
        answerer=Answerer(engine, access, store, writer),
    )
    register_all(app, services)
    app.opsbot = services  # type: ignore[attr-defined]
    return app
