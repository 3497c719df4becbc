"""Running `opsbot serve` as a subprocess, the way a user (or systemd) would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fake_slack
from fake_slack import SIGNING_SECRET, FakeSlack
from slack_sim import SlackSim

REPO = Path(__file__).resolve().parents[2]
KNOWLEDGE_URL = "https://github.com/example/opsbot/blob/main/knowledge/"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Running:
    sim: SlackSim
    fake: FakeSlack
    data_dir: Path
    engine: Any = None
    proc: subprocess.Popen | None = None


def app_env(fake: Any, state: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env |= {
        "SLACK_API_URL": fake.url,
        "SLACK_BOT_TOKEN": fake_slack.BOT_TOKEN,
        "SLACK_APP_TOKEN": fake_slack.APP_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "KNOWLEDGE_DIR": str(REPO / "knowledge"),
        "KNOWLEDGE_URLS": f"knowledge={KNOWLEDGE_URL}",  # per root: other roots get no link
        "INDEX_DIR": str(state / "index"),
        "DATA_DIR": str(state / "data"),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    return env


def start_serve(args: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", *args],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.terminate()
        try:
            return proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def wait_healthy(proc: subprocess.Popen, sim: SlackSim, log: Path, timeout: float = 120) -> None:
    """Block until GET /healthz answers 200; fail with the server's log if it never does."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            tail = log.read_text()[-3000:]
            raise AssertionError(f"opsbot serve exited {proc.returncode}:\n{tail}")
        try:
            if sim.get("/healthz").status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop(proc)
            raise AssertionError(f"opsbot serve never became healthy:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
