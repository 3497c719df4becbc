"""Shared fixtures: the real model, the real article index, built once per session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from pgvector_server import fresh_database, pgvector

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
        knowledge_dirs=(REPO / "knowledge",), index_dir=state / "index", data_dir=state / "data"
    )


@pytest.fixture(scope="session")
def article_engine(article_settings):
    from bot.engine.engine import Engine

    return Engine.open(article_settings, notify=lambda _msg: None)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path) -> Iterator[str]:
    """A DATABASE_URL per store backend: a SQLite file, or a fresh schema on a real PostgreSQL.

    PostgreSQL comes from OPSBOT_TEST_DATABASE_URL (.ci/run starts one with
    scripts/ci-postgres.sh); without it those params skip, unless
    OPSBOT_REQUIRE_POSTGRES=1, where a silent skip would hide a broken CI set-up.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite3'}"
        return
    base = os.environ.get("OPSBOT_TEST_DATABASE_URL", "")
    if not base:
        if os.environ.get("OPSBOT_REQUIRE_POSTGRES") == "1":
            pytest.fail("OPSBOT_REQUIRE_POSTGRES=1 but OPSBOT_TEST_DATABASE_URL is not set")
        pytest.skip("PostgreSQL tests need OPSBOT_TEST_DATABASE_URL (scripts/ci-postgres.sh)")
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_search_path(base, schema)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def with_search_path(url: str, schema: str) -> str:
    """The same URL, with every connection's tables in `schema` (libpq `options`)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.append(("options", f"-csearch_path={schema}"))
    return urlunsplit(parts._replace(query=urlencode(query)))


@pytest.fixture(scope="session")
def pgvector_server() -> Iterator[Any]:
    with pgvector("index") as server:
        yield server


@pytest.fixture
def index_url(pgvector_server) -> str:
    """INDEX_URL of a fresh database on the session's PostgreSQL + pgvector."""
    return fresh_database(pgvector_server)
