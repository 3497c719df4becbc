"""Run the opsbot image and check it like Slack would: /healthz, then one answered question.

Used by scripts/container-check.sh. The container runs `opsbot serve --http` against the
test suite's fake Slack Web API on the host network; a mention signed with the signing
secret goes in, and the answer must come back through chat.postMessage with a source.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "slack"))

import fake_slack  # noqa: E402
from fake_slack import SIGNING_SECRET, FakeSlack  # noqa: E402
from serve_proc import free_port  # noqa: E402
from slack_sim import SlackSim  # noqa: E402

STARTUP_SECONDS = 240


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def wait_healthy(name: str, url: str) -> dict:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        state = subprocess.run(
            ["podman", "inspect", name, "--format", "{{.State.Running}}"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        if state != "true":
            raise SystemExit(f"the container stopped:\n{logs(name)}")
        try:
            return get_json(url)
        except OSError:
            time.sleep(1)
    raise SystemExit(f"no /healthz within {STARTUP_SECONDS}s:\n{logs(name)}")


def logs(name: str) -> str:
    out = subprocess.run(["podman", "logs", "--tail", "40", name], capture_output=True, text=True)
    return (out.stdout + out.stderr)[-4000:]


def volumes() -> set[str]:
    out = subprocess.run(["podman", "volume", "ls", "-q"], capture_output=True, text=True)
    return set(out.stdout.split())


def main(image: str) -> int:
    """The probe, then a check that it left no volume behind (the image declares two
    VOLUMEs: each run creates two anonymous volumes unless its container is removed with -v)."""
    before = volumes()
    code = probe(image)
    left = volumes() - before
    if left:
        print(f"probe: FAILED: the run left volumes behind: {sorted(left)}", file=sys.stderr)
        return 1
    return code


def probe(image: str) -> int:
    fake = FakeSlack().start()
    port, metrics = free_port(), free_port()
    name = f"opsbot-probe-{uuid.uuid4().hex[:8]}"
    env = {
        "SLACK_BOT_TOKEN": fake_slack.BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.url,
        "METRICS_PORT": str(metrics),
    }
    cmd = ["podman", "run", "-d", "--name", name, "--network", "host"]
    cmd += [arg for k, v in env.items() for arg in ("-e", f"{k}={v}")]
    cmd += [image, "serve", "--http", "--port", str(port)]  # METRICS_PORT from the env
    started = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    try:
        health = wait_healthy(name, f"http://127.0.0.1:{metrics}/healthz")
        print(f"probe: /healthz after {time.monotonic() - started:.1f}s: {health}")
        assert health["status"] == "ok" and health["chunks"] > 0, health
        user = subprocess.run(
            ["podman", "exec", name, "id", "-u"], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert user != "0", "the container runs as root"
        check = subprocess.run(["podman", "healthcheck", "run", name], capture_output=True)
        assert check.returncode == 0, f"HEALTHCHECK failed: {check.stdout!r} {check.stderr!r}"
        tools = subprocess.run(
            ["podman", "exec", name, "sh", "-c", "command -v gcc cc make pip pip3 || true"],
            capture_output=True,
            text=True,
        ).stdout.split()
        assert not tools, f"build tools in the final image: {tools}"
        sim = SlackSim(f"127.0.0.1:{port}", fake)
        channel = "CPROBE" + uuid.uuid4().hex[:6].upper()
        asked = time.monotonic()
        event = sim.mention("What is MLOps?", channel)
        assert event["reply"].status == 200, event["reply"]
        (post,) = fake.wait_for("chat.postMessage", channel=channel, timeout=60)
        sent = json.dumps(post.params.get("blocks"))
        assert "machine learning" in sent.lower() and "devops-vs-mlops" in sent, sent[:2000]
        print(f"probe: answered in {time.monotonic() - asked:.2f}s: {post.params['text'][:120]!r}")
        print(f"probe: runs as uid {user}; HEALTHCHECK passes; no pip or compilers")
        return 0
    except AssertionError as exc:
        print(f"probe: FAILED: {exc}\n{logs(name)}", file=sys.stderr)
        return 1
    finally:
        # -v: the image's two VOLUMEs were anonymous volumes of this container
        subprocess.run(["podman", "rm", "-f", "-v", "-t", "5", name], capture_output=True)
        fake.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "localhost/opsbot:check"))
