"""`opsbot chat`: the same engine in an interactive terminal, to try the bot without Slack."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.access import Access, Asker
from bot.answering import Answerer
from bot.engine.engine import Engine
from bot.terminal import plural, render_answer_text

if TYPE_CHECKING:
    from bot.llm.writer import Writer
    from bot.store import Store

HELP = (
    "Ask a question. Follow-ups use the previous question as context; "
    "/new starts over; Ctrl-D quits."
)


def _setup_readline(history_file: Path) -> None:
    try:
        import readline
    except ImportError:  # not on every platform
        return
    history_file.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        readline.read_history_file(history_file)
    readline.set_history_length(1000)
    import atexit

    atexit.register(lambda: _save_history(readline, history_file))


def _save_history(readline_module, history_file: Path) -> None:
    with contextlib.suppress(OSError):
        readline_module.write_history_file(history_file)


def run_chat(
    engine: Engine,
    history_file: Path,
    store: Store | None = None,
    writer: Writer | None = None,
    access: Access | None = None,
) -> int:
    """The REPL; questions go through the same answer step as Slack's and are recorded like
    them (surface "chat") so reports see them. The terminal runs on the server, so its
    operator sees every source."""
    _setup_readline(history_file)
    answerer = Answerer(engine, access or Access(engine.settings), store, writer)
    asker = Asker(surface="chat", local=True)
    click.echo(
        f"opsbot chat — {plural(engine.chunk_count, 'passage')} from "
        f"{plural(len(engine.topics()), 'document')}."
    )
    click.echo(HELP)
    turns: list[str] = []
    while True:
        try:
            question = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            click.echo()
            return 0
        if not question:
            continue
        if question in ("/new", "/reset"):
            turns.clear()
            click.echo("(new conversation)")
            continue
        if question in ("/help", "help"):
            click.echo(HELP)
            continue
        streamed = False

        def show(delta: str) -> None:
            nonlocal streamed
            streamed = True
            click.echo(delta, nl=False)

        reply = answerer.answer(question, asker, history=turns, on_draft=lambda _: show)
        answer, text = reply.answer, render_answer_text(reply.answer)
        if reply.outcome is not None and reply.outcome.asked:  # tokens streamed as written
            from bot.llm.terminal import after_stream

            answer, text = after_stream(reply.outcome, streamed)
        click.echo(text)
        turns.append(question)
