"""`opsbot chat`: the same engine in an interactive terminal, to try the bot without Slack."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.engine.engine import Engine
from bot.observability.questions import record_question
from bot.terminal import render_answer_text

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
    engine: Engine, history_file: Path, store: Store | None = None, writer: Writer | None = None
) -> int:
    """The REPL; questions are recorded like Slack ones (surface "chat") so reports see them."""
    _setup_readline(history_file)
    click.echo(
        f"opsbot chat — {engine.chunk_count} passages from {len(engine.topics())} documents."
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
        answer = engine.answer(question, history=turns)
        text = render_answer_text(answer)
        if writer is not None and answer.answered:  # tokens stream as the model writes
            from bot.llm.terminal import stream_answer

            answer, text = stream_answer(writer, answer, turns)
        record_question(store, surface="chat", answer=answer)
        click.echo(text)
        turns.append(question)
