"""Fixtures for generated answers: a fake OpenAI-compatible server, writers on the real
embedding model, and the real Bolt app wired to both and to the fake Slack."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "slack"))  # fake_slack, slack_sim

from fake_openai import MODEL, FakeOpenAI, Script  # noqa: E402


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    yield server
    server.stop()


@pytest.fixture
def llm(fake_llm) -> FakeOpenAI:
    """The module's fake server, reset: streams `script.text`, forgets earlier requests."""
    deadline = time.monotonic() + 10
    while fake_llm.in_flight and time.monotonic() < deadline:  # an earlier test's stall
        time.sleep(0.05)
    fake_llm.script = Script()
    fake_llm.requests.clear()
    fake_llm.max_in_flight = 0
    return fake_llm


def llm_env(url: str, **extra: str) -> dict[str, str]:
    return {"LLM_BASE_URL": url, "LLM_MODEL": MODEL, "LLM_TIMEOUT": "3", **extra}


@pytest.fixture
def make_writer(article_engine):
    """Writer factory on the real embedding model (the start-up check runs, as in serve)."""
    from bot.llm import open_writer

    def make(url: str, **extra: str):
        return open_writer(article_engine.embedder, llm_env(url, **extra))

    return make


@pytest.fixture
def llm_app(article_engine, llm, make_writer, tmp_path) -> Iterator:
    """The real Bolt app + WSGI server with a writer on the fake LLM, talking to a fake Slack."""
    from llm_app import running_app

    yield from running_app(article_engine, make_writer(llm.url, LLM_CONCURRENCY="2"), tmp_path)


@pytest.fixture(scope="session")
def real_llm(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """The real llama.cpp server (skipped, saying why, when the llm-test extra is absent)."""
    from real_server import start
    from serve_proc import free_port

    log = tmp_path_factory.mktemp("llama") / "server.log"
    proc, url = start(free_port(), log)
    yield url, log
    proc.terminate()
    try:
        proc.wait(15)
    except Exception:
        proc.kill()


KB_BASE = "https://docs.example.com/kb/"


@pytest.fixture(scope="module")
def linked_engine(article_settings, article_engine):
    """The article engine's index with KNOWLEDGE_URLS set: every source has a URL."""
    import dataclasses

    from bot.engine.engine import Engine

    settings = dataclasses.replace(article_settings, knowledge_urls=(("", KB_BASE),))
    return Engine.open(settings, notify=lambda _msg: None)


@pytest.fixture
def linked_app(linked_engine, llm, tmp_path) -> Iterator:
    """The real Bolt app on the fake LLM, its sources linked through KNOWLEDGE_URLS."""
    from llm_app import running_app

    from bot.llm import open_writer

    env = llm_env(llm.url, KNOWLEDGE_URLS=KB_BASE)
    yield from running_app(linked_engine, open_writer(linked_engine.embedder, env), tmp_path)
