"""The opsbot command line, driven in-process and as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot import cli as cli_module


def run_main(monkeypatch, capsys, *argv: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["opsbot", *argv])
    with pytest.raises(SystemExit) as exc:
        cli_module.main()
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def dirs(settings) -> list[str]:
    return ["--knowledge-dir", str(settings.knowledge_dir), "--index-dir", str(settings.index_dir)]


def test_bad_k_is_one_line_exit_2(monkeypatch, capsys, article_settings):
    code, _, err = run_main(monkeypatch, capsys, "ask", "-k", "abc", *dirs(article_settings), "q")
    assert code == 2
    assert err.strip().count("\n") == 0 and "'abc' is not a valid integer" in err


def test_missing_knowledge_dir_is_exit_2(monkeypatch, capsys, tmp_path):
    code, _, err = run_main(
        monkeypatch, capsys, "ask", "--knowledge-dir", str(tmp_path / "no"), "q"
    )
    assert code == 2 and "KNOWLEDGE_DIR" in err and err.count("\n") == 1


def test_bad_env_value_is_exit_2(monkeypatch, capsys):
    monkeypatch.setenv("TOP_K", "many")
    code, _, err = run_main(monkeypatch, capsys, "ask", "q")
    assert code == 2 and "TOP_K must be an integer" in err


def test_ask_json_shape(article_engine, article_settings):
    result = CliRunner().invoke(
        cli_module.cli, ["ask", "--json", *dirs(article_settings), "What is MLOps?"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["answered"] is True
    assert payload["question"] == "What is MLOps?"
    assert 1 <= len(payload["sources"]) <= 3  # weak passages are left out, not padded in
    assert payload["sources"][0]["path"] == "devops-vs-mlops.md"
    assert payload["sources"][0]["score"] >= payload["sources"][-1]["score"] - 0.2


def test_ask_stdin_writes_json_lines(article_engine, article_settings):
    result = CliRunner().invoke(
        cli_module.cli,
        ["ask", "-k", "2", *dirs(article_settings), "-"],
        input="What is MLOps?\n\nbest pizza in Naples?\n",
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["answered"] for r in rows] == [True, False]
    assert all(len(r["sources"]) <= 2 for r in rows)


def test_ask_stdin_takes_json_lines_with_thread_history(article_engine, article_settings):
    lines = [
        json.dumps({"question": "who do they team up with?", "history": ["what is mlops"]}),
        json.dumps({"question": "what's a good pasta recipe", "history": ["what is devops"]}),
    ]
    result = CliRunner().invoke(
        cli_module.cli, ["ask", *dirs(article_settings), "-"], input="\n".join(lines) + "\n"
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["answered"] for r in rows] == [True, False]
    assert "data experts" in rows[0]["lead"]


def test_ask_human_output(article_engine, article_settings):
    result = CliRunner().invoke(cli_module.cli, ["ask", *dirs(article_settings), "What is DevOps?"])
    assert result.exit_code == 0
    assert "Sources:" in result.output and "devops-vs-mlops.md" in result.output


def test_eval_command_reports_metrics(article_engine, article_settings, shared_dir):
    result = CliRunner().invoke(
        cli_module.cli,
        ["eval", str(shared_dir / "eval/article-dev.jsonl"), *dirs(article_settings), "-k", "3"],
    )
    assert result.exit_code == 0, result.output
    assert "hit@3: 1.000" in result.output
    assert "declined correctly: 1/1" in result.output


def test_corrupt_index_is_one_line_error(monkeypatch, capsys, tmp_path, repo_root):
    from bot.config import Settings
    from bot.ingest.pipeline import ingest

    settings = Settings(knowledge_dirs=(repo_root / "knowledge",), index_dir=tmp_path / "idx")
    ingest(settings)
    chunks = (tmp_path / "idx" / "current").resolve() / "chunks.jsonl"
    chunks.write_bytes(b"{" * chunks.stat().st_size)  # garbled, same size
    code, _, err = run_main(monkeypatch, capsys, "ask", *dirs(settings), "What is MLOps?")
    assert code == 1
    assert "opsbot ingest" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    code, out, _ = run_main(monkeypatch, capsys, "ingest", *dirs(settings))  # as advised
    assert code == 0 and "up to date" not in out
    code, out, _ = run_main(monkeypatch, capsys, "ask", *dirs(settings), "What is MLOps?")
    assert code == 0 and "machine learning" in out.lower()


def test_damaged_index_is_rebuilt_by_the_next_ask(monkeypatch, capsys, tmp_path, repo_root):
    """Build files carry checksums: a truncated chunks.jsonl is noticed and rebuilt."""
    from bot.config import Settings
    from bot.ingest.pipeline import ingest

    settings = Settings(knowledge_dirs=(repo_root / "knowledge",), index_dir=tmp_path / "idx")
    ingest(settings)
    ((tmp_path / "idx" / "current").resolve() / "chunks.jsonl").write_text("{broken")
    code, out, err = run_main(monkeypatch, capsys, "ask", *dirs(settings), "What is MLOps?")
    assert code == 0 and "Traceback" not in err
    assert "machine learning" in out.lower()


def test_unchanged_reingest_never_imports_the_model(article_engine, article_settings, repo_root):
    probe = (
        "import sys; from bot.cli import cli; "
        f"cli.main(['ingest', *{dirs(article_settings)!r}], standalone_mode=False); "
        "assert 'sentence_transformers' not in sys.modules, 'model imported'; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=repo_root, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stdout


def test_knowledge_dir_env_takes_a_pathsep_list():
    import os

    from bot.config import from_env

    settings = from_env({"KNOWLEDGE_DIR": f"knowledge{os.pathsep}../docs"})
    assert settings.knowledge_dirs == (Path("knowledge"), Path("../docs"))


@pytest.mark.parametrize("argv", [["ask", "--help"], ["ask", "-h"], ["-h"], ["report", "-h"]])
def test_help_works_everywhere_even_with_a_bad_env(monkeypatch, capsys, argv):
    monkeypatch.setenv("TOP_K", "many")
    code, out, _ = run_main(monkeypatch, capsys, *argv)
    assert code == 0 and out.startswith("Usage: ") and "-h, --help" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": 1}\n', 'eval.jsonl:1: each line needs a "question" string'),
        ('{"question": "a"}\n\n{bad\n', "eval.jsonl:3: not valid JSON"),
        ("\n", "no questions in the file"),
    ],
)
def test_bad_eval_files_are_one_line_exit_2(monkeypatch, capsys, tmp_path, content, message):
    path = tmp_path / "eval.jsonl"
    path.write_text(content)
    code, _, err = run_main(
        monkeypatch, capsys, "eval", str(path), "--knowledge-dir", str(tmp_path)
    )
    assert code == 2 and message in err and err.count("\n") == 1


def test_missing_model_path_is_one_line_exit_2(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("EMBEDDING_MODEL", "/nonexistent/model")
    code, _, err = run_main(
        monkeypatch,
        capsys,
        "ask",
        "--knowledge-dir",
        str(tmp_path),
        "--index-dir",
        str(tmp_path / "i"),
        "q",
    )
    assert code == 2 and "EMBEDDING_MODEL '/nonexistent/model' does not exist" in err
    assert err.count("\n") == 1


def test_start_names_the_missing_slack_token(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    monkeypatch.setenv("KNOWLEDGE_DIR", str(tmp_path / "missing"))
    code, _, err = run_main(monkeypatch, capsys, "start")
    assert "SLACK_BOT_TOKEN is set but SLACK_APP_TOKEN is missing" in err
    assert code == 2  # then the chat stops on the missing knowledge dir, in one line
