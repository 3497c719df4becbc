"""Fixtures for the Slack suite: a fake Slack, Slack-signed requests, the app under test.

`stub_app` runs the real Bolt app + WSGI server in-process on a tiny stand-in engine
(fast, for rendering and plumbing); `live` runs the real `opsbot serve --http` as a
subprocess with the real engine and model, once per session.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import fake_slack
import pytest
from fake_slack import SIGNING_SECRET, FakeSlack
from serve_proc import REPO, Running, app_env, free_port, start_serve, stop
from slack_sim import SlackSim
from stub_engine import StubEngine

TEAM_DOCS = {
    "terraform-vs-pulumi.md": (
        "# Terraform vs Pulumi\n\n## Language\n\nTerraform uses HCL, a declarative "
        "configuration language. Pulumi lets you write infrastructure in Python, TypeScript "
        "or Go.\n\n## State\n\nBoth keep a state file; Terraform stores it in a backend "
        "such as S3, Pulumi in its service or a bucket.\n"
    ),
    "incident-paging.md": (
        "# Incident paging\n\n## Who gets paged\n\nThe primary on-call engineer is paged "
        "first. If nobody acknowledges within 15 minutes, the secondary is paged.\n\n"
        "## Severity\n\nSEV1 pages immediately at any hour; SEV3 waits for business hours.\n"
    ),
}


def write_team_docs(folder: Path) -> Path:
    """A team's own docs, unrelated to the article, kept beside `knowledge/`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in TEAM_DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _run_quietly(server) -> None:
    with contextlib.suppress(OSError):  # closing from the test thread ends the loop this way
        server.run()


@pytest.fixture(scope="module")
def stub_app(tmp_path_factory) -> Iterator[Running]:
    """The real app and WSGI server in-process, on the stub engine and a fake Slack."""
    import waitress

    from bot.config import Settings
    from bot.slack.app import SlackEnv, build_app, make_client
    from bot.slack.serve import SlackWSGI
    from bot.store import open_store

    fake = FakeSlack().start()
    data = tmp_path_factory.mktemp("stub-data")
    settings = Settings(data_dir=data)
    store = open_store(settings)
    engine = StubEngine()
    env = SlackEnv(fake_slack.BOT_TOKEN, "", SIGNING_SECRET, fake.url)
    app = build_app(settings, engine, store, client=make_client(env.bot_token, fake.url), slack=env)
    port = free_port()
    health = lambda: {"status": "ok"}  # noqa: E731
    server = waitress.create_server(SlackWSGI(app, SIGNING_SECRET, health), port=port, threads=8)
    thread = threading.Thread(target=_run_quietly, args=(server,), daemon=True)
    thread.start()
    yield Running(SlackSim(f"127.0.0.1:{port}", fake), fake, data, engine)
    server.close()
    app.opsbot.close()
    store.close()
    fake.stop()


@pytest.fixture(scope="session")
def live(tmp_path_factory) -> Iterator[Running]:
    """`opsbot serve --http` as a subprocess with the real engine; the model loads once."""
    fake = FakeSlack().start()
    state = tmp_path_factory.mktemp("live")
    port = free_port()
    log = state / "serve.log"
    team = write_team_docs(state / "team-docs")
    knowledge = f"{REPO / 'knowledge'}{os.pathsep}{team}"  # the article is one doc of several
    env = app_env(fake, state, KNOWLEDGE_DIR=knowledge)
    proc = start_serve(["--http", "--port", str(port)], env, state, log)
    sim = SlackSim(f"127.0.0.1:{port}", fake)
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            pytest.fail(f"opsbot serve exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if sim.get("/healthz").status == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop(proc)
            pytest.fail(f"opsbot serve never became healthy:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    yield Running(sim, fake, state / "data", proc=proc)
    code = stop(proc)
    fake.stop()
    assert code == 0, log.read_text()[-3000:]
