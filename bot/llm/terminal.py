"""Generated answers on a terminal: `ask` prints the checked answer, `chat` streams it
sentence by sentence as each passes the grounding check (bot/llm/gate.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import click

from bot.engine.types import Answer
from bot.llm.writer import Outcome, Writer
from bot.terminal import render_answer_text


def checked_answer(writer: Writer | None, draft: Answer, history: Sequence[str] = ()) -> Answer:
    """The generated answer when there is a writer and it holds up, else the draft."""
    if writer is None:
        return draft
    return writer.write(draft, history=history, surface="cli").answer


def stream_answer(writer: Writer, draft: Answer, history: Sequence[str] = ()) -> tuple[Answer, str]:
    """Print tokens as they arrive; return the final answer and what is left to print.

    When the check changed the streamed text (or fell back), the rest says so and repeats
    the answer as checked; otherwise it is just the sources.
    """
    streamed = False

    def show(delta: str) -> None:
        nonlocal streamed
        streamed = True
        click.echo(delta, nl=False)

    outcome = writer.write(draft, history=history, on_text=show, surface="chat")
    return after_stream(outcome, streamed)


def after_stream(outcome: Outcome, streamed: bool) -> tuple[Answer, str]:
    """What is left to print once the streamed tokens are on screen."""
    if streamed:
        click.echo()
    answer = outcome.answer
    if not streamed and not outcome.reason:
        return answer, render_answer_text(answer)
    if outcome.reason:
        note = f"(the model's answer was not used: {outcome.reason}; from the sources:)\n"
        return answer, note + render_answer_text(answer)
    if outcome.changed:
        note = "(checked against the sources; unsupported parts removed:)\n"
        return answer, note + render_answer_text(answer)
    return answer, render_answer_text(dataclasses.replace(answer, answer="")).lstrip("\n")
