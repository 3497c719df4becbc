"""In-process checks of the operational pieces: Slack API error counting, bounded drain."""

from __future__ import annotations

import threading
import time

import fake_slack
import pytest
from fake_slack import FakeSlack
from slack_sdk.errors import SlackApiError

from bot.config import ConfigError, from_env
from bot.observability import metrics
from bot.slack.app import make_client
from bot.slack.shutdown import GracefulStop, drain


def test_api_errors_are_counted_once_per_failed_call_by_method():
    fake = FakeSlack().start()
    try:
        client = make_client(fake_slack.BOT_TOKEN, fake.url)

        def errors(method: str) -> float:
            return metrics.SLACK_API_ERRORS.labels(method)._value.get()

        before = errors("chat.postMessage")
        fake.fail("chat.postMessage", 500, times=1)
        client.chat_postMessage(channel="C1", text="retried, then fine")
        assert errors("chat.postMessage") == before
        fake.fail("chat.postMessage", 503, times=3)
        with pytest.raises(SlackApiError):
            client.chat_postMessage(channel="C1", text="retries run out")
        assert errors("chat.postMessage") == before + 1
        before = errors("reactions.add")
        fake.fail("reactions.add", 429, times=3, retry_after=0)
        with pytest.raises(SlackApiError):
            client.reactions_add(channel="C1", timestamp="1.1", name="eyes")
        assert errors("reactions.add") == before + 1  # rate limit outlasted the retries
        before = errors("auth.test")
        with pytest.raises(SlackApiError):
            make_client("xoxb-wrong-token", fake.url).auth_test()  # ok: false
        assert errors("auth.test") == before + 1
        assert len(fake.find("chat.postMessage")) == 5
    finally:
        fake.stop()


def test_shutdown_timeout_setting_and_a_bounded_drain():
    assert from_env({}).shutdown_timeout == 20
    assert from_env({"SHUTDOWN_TIMEOUT": "2.5"}).shutdown_timeout == 2.5
    for bad in ("soon", "-1"):
        with pytest.raises(ConfigError, match="SHUTDOWN_TIMEOUT"):
            from_env({"SHUTDOWN_TIMEOUT": bad})
    stuck = threading.Event()

    class Services:
        def close(self) -> None:
            stuck.wait(5)  # an answer that never finishes

    started = time.monotonic()
    assert drain(Services(), GracefulStop(0.3)) is False
    assert time.monotonic() - started < 2
    stuck.set()

    class Idle:
        def close(self) -> None:
            pass

    assert drain(Idle(), GracefulStop(0.3)) is True
