"""The real Bolt app + WSGI server in-process with a given writer, on a fresh fake Slack."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path


def running_app(engine, writer, data_dir: Path) -> Iterator:
    """Yields a Running (sim, fake, data dir, engine); closes everything after."""
    import fake_slack
    import waitress
    from fake_slack import SIGNING_SECRET, FakeSlack
    from serve_proc import Running, free_port
    from slack_sim import SlackSim

    from bot.config import Settings
    from bot.slack.app import SlackEnv, build_app, make_client
    from bot.slack.serve import SlackWSGI
    from bot.store import open_store

    fake = FakeSlack().start()
    settings = Settings(data_dir=data_dir)
    store = open_store(settings)
    env = SlackEnv(fake_slack.BOT_TOKEN, "", SIGNING_SECRET, fake.url)
    client = make_client(env.bot_token, fake.url)
    app = build_app(settings, engine, store, client=client, slack=env, writer=writer)
    port = free_port()
    server = waitress.create_server(
        SlackWSGI(app, SIGNING_SECRET, lambda: {"status": "ok"}), port=port, threads=8
    )
    threading.Thread(target=_run_quietly, args=(server,), daemon=True).start()
    yield Running(SlackSim(f"127.0.0.1:{port}", fake), fake, data_dir, engine)
    server.close()
    app.opsbot.close()
    store.close()
    fake.stop()


def _run_quietly(server) -> None:
    with contextlib.suppress(OSError):  # closing from the test thread ends the loop this way
        server.run()
