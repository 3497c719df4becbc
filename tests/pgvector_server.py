"""A private PostgreSQL + pgvector for the shared-index tests (the `pgserver` wheel).

A module of its own, not conftest: test folders have conftests of their own, and
`from conftest import …` would find the wrong one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest


def require_pgvector() -> None:
    """Skip (saying how to get it) unless OPSBOT_REQUIRE_PGVECTOR=1, where CI must not skip."""
    if os.environ.get("OPSBOT_REQUIRE_PGVECTOR") == "1":
        pytest.fail("OPSBOT_REQUIRE_PGVECTOR=1 but the pgserver wheel is not installed")
    pytest.skip("the shared-index tests need PostgreSQL + pgvector: pip install pgserver")


@contextlib.contextmanager
def pgvector(name: str) -> Iterator[Any]:
    """A private PostgreSQL 16 with pgvector (the `pgserver` wheel) on a Unix socket, deleted
    afterwards. Its folder is outside pytest's (root-only) tmp: run as root, pgserver runs
    PostgreSQL as its own user, which must reach the folder."""
    try:
        import pgserver
    except ImportError:
        require_pgvector()
    folder = Path(tempfile.mkdtemp(prefix=f"opsbot-{name}-"))
    folder.chmod(0o755)
    server = pgserver.get_server(folder / "data", cleanup_mode="delete")
    try:
        yield server
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def fresh_database(server: Any) -> str:
    """A new empty database on `server` (anything with `get_uri()`); its URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    base = server.get_uri()
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{name}"))
