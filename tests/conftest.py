"""Shared fixtures: the real model, the real article index, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside the repo")
    return SHARED


@pytest.fixture(scope="session")
def article_settings(tmp_path_factory) -> Settings:
    state = tmp_path_factory.mktemp("article-state")
    return Settings(
        knowledge_dir=REPO / "knowledge", index_dir=state / "index", data_dir=state / "data"
    )


@pytest.fixture(scope="session")
def article_engine(article_settings):
    from bot.engine.engine import Engine

    return Engine.open(article_settings, notify=lambda _msg: None)
