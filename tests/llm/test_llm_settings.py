"""LLM_* settings, the start-up check, and the promise that nothing changes without them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("openai", reason="generated answers need the llm extra: pip install '.[llm]'")
from fake_openai import MODEL

from bot.config import ConfigError
from bot.llm import open_writer
from bot.llm.settings import from_env

REPO = Path(__file__).resolve().parents[2]


def test_unset_base_url_means_no_llm():
    assert from_env({}) is None
    assert from_env({"LLM_MODEL": "x", "LLM_TIMEOUT": "nonsense"}) is None


def test_defaults_and_values():
    settings = from_env({"LLM_BASE_URL": "http://localhost:11434/v1/", "LLM_MODEL": "llama3.2"})
    assert settings.base_url == "http://localhost:11434/v1" and settings.timeout == 20.0
    assert settings.concurrency == 2 and settings.max_tokens == 400 and settings.api_key == ""
    custom = from_env(
        {
            "LLM_BASE_URL": "https://api.openai.com/v1",
            "LLM_MODEL": "gpt-4o-mini",
            "LLM_API_KEY": "sk-test",
            "LLM_TIMEOUT": "7.5",
            "LLM_MAX_TOKENS": "300",
            "LLM_CONCURRENCY": "4",
        }
    )
    assert (custom.timeout, custom.max_tokens, custom.concurrency) == (7.5, 300, 4)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LLM_BASE_URL": "localhost:11434"}, "LLM_BASE_URL must be an http(s) URL"),
        ({"LLM_BASE_URL": "http://h/v1"}, "LLM_MODEL is required"),
        ({"LLM_TIMEOUT": "soon"}, "LLM_TIMEOUT must be a number"),
        ({"LLM_TIMEOUT": "0"}, "LLM_TIMEOUT must be between"),
        ({"LLM_MAX_TOKENS": "many"}, "LLM_MAX_TOKENS must be an integer"),
        ({"LLM_CONCURRENCY": "0"}, "LLM_CONCURRENCY must be at least 1"),
    ],
)
def test_bad_values_are_one_line_errors(env, message):
    base = {"LLM_BASE_URL": "http://h/v1", "LLM_MODEL": "m"}
    if "LLM_MODEL" not in str(message):
        env = {**base, **env}
    with pytest.raises(ConfigError, match=re.escape(message)):
        from_env(env)


def test_start_up_check_names_the_problem(fake_llm):
    env = {"LLM_BASE_URL": fake_llm.url, "LLM_MODEL": MODEL}
    assert open_writer(None, env) is not None
    with pytest.raises(ConfigError, match="LLM_MODEL 'nope' is not served .* fake-model"):
        open_writer(None, {**env, "LLM_MODEL": "nope"})
    with pytest.raises(ConfigError, match="cannot reach LLM_BASE_URL"):
        open_writer(None, {**env, "LLM_BASE_URL": "http://127.0.0.1:9/v1"})
    with pytest.raises(ConfigError, match="does the URL end in /v1"):
        open_writer(None, {**env, "LLM_BASE_URL": fake_llm.url.removesuffix("/v1")})
    fake_llm.api_key = "sk-right"
    try:
        with pytest.raises(ConfigError, match="LLM_API_KEY was rejected"):
            open_writer(None, {**env, "LLM_API_KEY": "sk-wrong"})
        assert open_writer(None, {**env, "LLM_API_KEY": "sk-right"}) is not None
    finally:
        fake_llm.api_key = ""


def test_nothing_imports_openai_without_llm_base_url():
    code = (
        "import sys, bot.cli, bot.chat, bot.slack.serve, bot.slack.streaming, bot.llm.terminal\n"
        "from bot.llm import open_writer\n"
        "assert open_writer(None, {}) is None\n"
        "print('openai' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def _opsbot(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LLM_")}
    clean |= {
        "KNOWLEDGE_DIR": str(REPO / "knowledge"),
        "INDEX_DIR": str(tmp_path / "index"),
        "DATA_DIR": str(tmp_path / "data"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=clean,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_bad_llm_is_exit_2_in_one_line(tmp_path):
    env = {"LLM_BASE_URL": "http://127.0.0.1:9/v1", "LLM_MODEL": "m"}
    out = _opsbot(["ask", "what is mlops?"], env, tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip().startswith("opsbot: error: cannot reach LLM_BASE_URL")
    assert len(out.stderr.strip().splitlines()) == 1


def test_ask_json_reports_generated_and_model(llm, tmp_path):
    from fake_openai import Script

    llm.script = Script(text="MLOps manages machine learning models from start to finish [1].")
    env = {"LLM_BASE_URL": llm.url, "LLM_MODEL": MODEL}
    out = _opsbot(["ask", "--json", "what is mlops?"], env, tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    data = json.loads(out.stdout)
    assert data["generated"] is True and data["model"] == MODEL
    assert data["answer"] == "MLOps manages machine learning models from start to finish [1]."
    assert data["sources"] and data["answered"] is True
