"""The `opsbot` command line: ingest, ask, chat, eval, serve and report."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from bot import __version__
from bot.config import ConfigError, Settings, from_env, load_dotenv_once
from bot.errors import OpsbotError

EXIT_USAGE = 2


def _settings(ctx: click.Context, sources: Sequence[str] = (), **overrides) -> Settings:
    """The environment's settings plus flags; a bad variable is raised here, not earlier,
    so `TOP_K=many opsbot ask --help` still shows the help. `--knowledge-dir` and
    `--source` together name the sources, replacing KNOWLEDGE_DIR and KNOWLEDGE_SOURCES."""
    from dataclasses import replace

    from bot.sources.spec import parse_source

    base = ctx.find_root().obj
    if isinstance(base, ConfigError):
        raise base
    settings = base.with_overrides(index_url=ctx.meta.get("index_url"), **overrides)
    if sources or overrides.get("knowledge_dirs"):
        settings = replace(
            settings,
            knowledge_dirs=tuple(Path(p) for p in overrides.get("knowledge_dirs") or ()),
            knowledge_sources=tuple(parse_source(raw) for raw in sources),
        )
    return settings


def _require_sources(settings: Settings) -> tuple:
    """The declared sources, checked before the model loads (one-line error otherwise)."""
    from bot.sources.registry import declared_specs

    return declared_specs(settings)


def _knowledge_needed(settings: Settings) -> tuple:
    """A local index needs its sources; a shared one (INDEX_URL) is read as it is, unless a
    source was named, which is then ingested into it when changed."""
    if settings.names_knowledge or not settings.index_url:
        return _require_sources(settings)
    return ()


def _remember_index_url(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.meta["index_url"] = value


knowledge_option = click.option(
    "--knowledge-dir",
    "knowledge_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Knowledge folder; repeat for several (KNOWLEDGE_DIR, os.pathsep-separated).",
)
source_option = click.option(
    "--source",
    "sources",
    multiple=True,
    metavar="SPEC",
    help="A knowledge source: folder, git+URL[@ref][#subdirectory=dir] or https:// docs "
    "site; NAME=SPEC names it. Repeat for several (KNOWLEDGE_SOURCES).",
)
index_url_option = click.option(
    "--index-url",
    expose_value=False,
    callback=_remember_index_url,
    metavar="URL",
    help="A shared index in PostgreSQL, postgresql://… (INDEX_URL); replaces --index-dir.",
)
_index_dir_option = click.option(
    "--index-dir", type=click.Path(path_type=Path), help="Where the index lives (INDEX_DIR)."
)


def index_option(command: Callable) -> Callable:
    """--index-dir and --index-url: a local index, or the shared one."""
    return _index_dir_option(index_url_option(command))


k_option = click.option(
    "-k", "k", type=click.IntRange(min=1), metavar="N", help="How many sources (TOP_K, default 3)."
)
PORT = click.IntRange(1, 65535)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="opsbot")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """opsbot answers DevOps and MLOps questions from your knowledge base."""
    from bot.observability.logs import configure_logging

    load_dotenv_once()
    try:
        ctx.obj = from_env()
    except ConfigError as exc:  # raised by the command that needs settings (not by --help)
        ctx.obj = exc
    log_format = getattr(ctx.obj, "log_format", "text")
    configure_logging(log_format, logging.WARNING)  # `serve` raises it to INFO
    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it forces DEBUG on itself


@cli.command()
@knowledge_option
@source_option
@index_option
@click.option("--force", is_flag=True, help="Rebuild even if nothing changed (cache still used).")
@click.pass_context
def ingest(
    ctx: click.Context,
    knowledge_dirs: tuple[Path, ...],
    sources: tuple[str, ...],
    index_dir: Path | None,
    force,
) -> None:
    """Build or refresh the index from the knowledge dir (only changed files are embedded)."""
    from bot.ingest.pipeline import ingest as run_ingest

    settings = _settings(ctx, sources, knowledge_dirs=knowledge_dirs, index_dir=index_dir)
    if settings.index_url and not settings.names_knowledge:
        raise ConfigError(
            "ingest into INDEX_URL needs the knowledge to read: give --knowledge-dir or "
            "--source (or KNOWLEDGE_DIR, KNOWLEDGE_SOURCES, opsbot.toml [[source]])"
        )
    tty = sys.stderr.isatty()  # a bar on a terminal, a line every few seconds otherwise
    notify = None if tty else (lambda line: click.echo(line, err=True))
    summary = run_ingest(settings, show_progress=tty, force=force, notify=notify)
    for line in summary.lines():
        click.echo(line)


def _open_engine(settings: Settings):
    from bot.engine.engine import Engine

    return Engine.open(settings)


def _open_writer(settings: Settings):
    """The LLM writer when LLM_BASE_URL is set (checked now, before the model loads)."""
    from bot.index.embedder import open_embedder
    from bot.llm import open_writer

    return open_writer(open_embedder(settings))


@cli.command()
@knowledge_option
@source_option
@index_option
@k_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.argument("question")
@click.pass_context
def ask(ctx, knowledge_dirs, sources, index_dir, k: int | None, as_json, question) -> None:
    """Answer QUESTION. Use - to read one question per line from stdin (JSON lines out)."""
    from bot.terminal import render_answer_text

    settings = _settings(ctx, sources, knowledge_dirs=knowledge_dirs, index_dir=index_dir)
    _knowledge_needed(settings)
    writer = _open_writer(settings)
    engine = _open_engine(settings)
    from bot.access import Access, Asker
    from bot.answering import Answerer

    answerer = Answerer(engine, Access(settings), None, writer)
    asker = Asker(surface="cli", local=True)  # the server's own terminal sees every source
    if question == "-":
        _warn_if_empty(settings)
        for number, line in enumerate(sys.stdin, start=1):
            if line.strip():
                text, history = _stdin_question(line, number)
                answer = answerer.answer(text, asker, history=history, k=k, record=False).answer
                click.echo(json.dumps(answer.to_json(), ensure_ascii=False))
        return
    _warn_if_empty(settings)
    answer = answerer.answer(question, asker, k=k, record=False).answer
    if as_json:
        click.echo(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(render_answer_text(answer), nl=False)


def _warn_if_empty(settings: Settings) -> None:
    """Say so on stderr when a source (or all knowledge) has no documents, instead of
    declining every question in silence."""
    from bot.sources.status import empty_warning, source_status

    warning = empty_warning(source_status(settings))
    if warning:
        click.echo(warning, err=True)


@cli.command()
@knowledge_option
@source_option
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def sources(ctx, knowledge_dirs, sources, index_dir, as_json) -> None:
    """List each knowledge source: kind, name, last sync, commit or page count, documents,
    errors (as the last ingest or reload recorded them; nothing is fetched)."""
    from bot.sources.status import health_entries, source_status, status_lines

    settings = _settings(ctx, sources, knowledge_dirs=knowledge_dirs, index_dir=index_dir)
    states = source_status(settings, _require_sources(settings))
    if as_json:
        click.echo(json.dumps(health_entries(states), indent=2))
    else:
        click.echo("\n".join(status_lines(states)))


def _stdin_question(line: str, number: int) -> tuple[str, list[str]]:
    """A plain line is a question; a JSON object line carries `question` and `history`."""
    stripped = line.strip()
    if not stripped.startswith("{"):
        return line.rstrip("\n"), []
    try:
        item = json.loads(stripped)
    except ValueError as exc:
        raise ConfigError(f"stdin line {number}: not valid JSON ({exc})") from None
    question, history = item.get("question"), item.get("history") or []
    if not isinstance(question, str) or not isinstance(history, list):
        raise ConfigError(f'stdin line {number}: needs "question" (text) and "history" (a list)')
    return question, [h for h in history if isinstance(h, str)]


@cli.command()
@knowledge_option
@source_option
@index_option
@click.pass_context
def chat(ctx, knowledge_dirs, sources, index_dir) -> None:
    """Chat with the bot in the terminal (same engine as Slack)."""
    from bot.chat import run_chat
    from bot.reload import KnowledgeWatcher
    from bot.store import open_store

    settings = _settings(ctx, sources, knowledge_dirs=knowledge_dirs, index_dir=index_dir)
    _knowledge_needed(settings)
    writer = _open_writer(settings)
    store = open_store(settings)
    try:
        engine = _open_engine(settings)
        watcher = KnowledgeWatcher(engine, settings)
        watcher.install_sighup()
        watcher.start()
        try:
            code = run_chat(engine, settings.data_dir / "chat_history", store, writer)
        finally:
            watcher.stop()
    finally:
        store.close()
    sys.exit(code)


@cli.command(name="eval")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@knowledge_option
@source_option
@index_option
@k_option
@click.option(
    "--mode",
    type=click.Choice(["hybrid", "dense", "bm25"]),
    default="hybrid",
    help="Retrieval to evaluate (dense and bm25 show what the fusion adds).",
)
@click.option(
    "--without",
    "without",
    default="",
    metavar="SIGNALS",
    help="Ablation: comma-separated ranking signals to switch off "
    "(unit, lexical, heading, bm25, cutoff, diversity).",
)
@click.option("--table", is_flag=True, help="Also print one row per question.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def eval_command(
    ctx, files, knowledge_dirs, sources, index_dir, k: int | None, mode, without, table, as_json
) -> None:
    """Score answers on question files: hit@k, MRR, lead, declines, misses."""
    from bot.engine.rerank import Weights
    from bot.evaluation import evaluate, load_questions

    k = k or 5
    settings = _settings(ctx, sources, knowledge_dirs=knowledge_dirs, index_dir=index_dir)
    roots = _knowledge_needed(settings)
    try:
        weights = Weights().without(*[s.strip() for s in without.split(",") if s.strip()])
    except ValueError as exc:
        raise ConfigError(f"--without: {exc}") from None
    question_sets = [(file, load_questions(file)) for file in files]
    engine = _open_engine(settings)
    reports = {}
    for file, questions in question_sets:
        report = evaluate(
            engine, questions, k=k, mode=mode, several_roots=len(roots) > 1, weights=weights
        )
        reports[str(file)] = report
        if not as_json:
            if len(question_sets) > 1:
                click.echo(f"== {file}")
            click.echo("\n".join(report.lines(table=table)))
    if as_json:
        payload = {name: r.to_json(table=table) for name, r in reports.items()}
        click.echo(
            json.dumps(payload if len(reports) > 1 else next(iter(payload.values())), indent=2)
        )


@cli.command()
@source_option
@click.option("--http", is_flag=True, help="HTTP mode (POST /slack/events) instead of Socket Mode.")
@click.option("--port", type=PORT, default=3000, help="HTTP port (with --http).")
@click.option(
    "--metrics-port",
    type=PORT,
    envvar="METRICS_PORT",
    help="Serve /metrics and /healthz on this port [env: METRICS_PORT].",
)
@index_url_option
@click.pass_context
def serve(ctx, sources, http: bool, port: int, metrics_port: int | None) -> None:
    """Connect to Slack (Socket Mode by default; tokens from the environment or .env)."""
    from bot.slack.serve import run

    settings = _settings(ctx, sources)
    sys.exit(run(settings, http=http, port=port, metrics_port=metrics_port))


@cli.command()
@click.option("--since", default="7d", show_default=True, help="Window: Nh, Nd or Nw.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "html"]),
    default="text",
    show_default=True,
    help="html is one self-contained file with charts.",
)
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Write to FILE, not stdout.")
@click.pass_context
def report(ctx: click.Context, since: str, fmt: str, output: Path | None) -> None:
    """Usage report: volume, answer rate, latency, topics, and questions needing docs."""
    from bot.access import restricted_paths
    from bot.report.data import build_report, parse_since
    from bot.report.render import render_report
    from bot.store import open_store

    settings = _settings(ctx)
    seconds = parse_since(since)
    hidden = restricted_paths(settings)  # the report may be shared: no restricted docs in it
    store = open_store(settings)
    try:
        data = build_report(
            store,
            since_seconds=seconds,
            window=since.strip(),
            questions_stored=settings.store_questions,
            embed=_lazy_embed(settings.embedding_model),
            hidden=hidden,
        )
    finally:
        store.close()
    data.knowledge = _knowledge_status(settings)
    text = render_report(data, fmt)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--output {str(output)!r}: {exc.strerror or exc}") from None
    click.echo(f"Wrote the {fmt} report to {output}", err=True)


def _knowledge_status(settings: Settings) -> list[dict[str, Any]]:
    """The sources as `opsbot sources` shows them, for the report ([] if none is usable)."""
    from bot.sources.registry import declared_specs
    from bot.sources.status import health_entries, source_status

    try:
        return health_entries(source_status(settings, declared_specs(settings)))
    except ConfigError:
        return []


def _lazy_embed(model: str) -> Callable[[Sequence[str]], Any]:
    """An encode function that loads the model only if there are questions to group."""

    def embed(texts: Sequence[str]) -> Any:
        from bot.index.embedder import Embedder

        return Embedder(model).encode(list(texts))

    return embed


@cli.command(hidden=True)
@click.pass_context
def start(ctx: click.Context) -> None:
    """What `make run` does: Slack when tokens are configured, else the terminal chat."""
    import os

    have = [v for v in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN") if os.environ.get(v, "").strip()]
    if len(have) == 2:
        ctx.invoke(serve, sources=(), http=False, port=3000, metrics_port=None)
        return
    if have:  # half configured: say exactly what is missing
        missing = "SLACK_APP_TOKEN" if have == ["SLACK_BOT_TOKEN"] else "SLACK_BOT_TOKEN"
        why = f"{have[0]} is set but {missing} is missing"
    else:
        why = "no Slack tokens (SLACK_BOT_TOKEN, SLACK_APP_TOKEN) in the environment or .env"
    click.echo(
        f"{why}: starting the terminal chat. To connect Slack, see README 'Connect to Slack'.",
        err=True,
    )
    ctx.invoke(chat, knowledge_dirs=(), sources=(), index_dir=None)


def _fail(message: str) -> None:
    """The one stderr line of a failed command, scrubbed of secrets like any log line."""
    from bot.observability.logs import error_line

    click.echo(error_line(message), err=True)


def main() -> None:
    """Entry point: every expected failure is one line on stderr, never a traceback."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        _fail(exc.format_message())
        sys.exit(EXIT_USAGE)
    except OpsbotError as exc:  # 2 for bad configuration, 1 for a runtime failure
        _fail(str(exc))
        sys.exit(exc.exit_code)
    except OSError as exc:  # a full disk or read-only file system while writing the index
        where = f": {exc.filename}" if exc.filename else ""
        _fail(f"{exc.strerror or exc}{where}")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
