"""Slack layer speed, against the engine's own answer time measured in the same run.

    python scripts/bench_slack.py [--questions 200] [--burst 50]
    python scripts/bench.py --slack ...          # same thing

Starts the real `opsbot serve --http` against the local fake Slack (tests/slack), then:
round trip (signed mention in -> chat.postMessage at the fake) for N questions, one at
a time; every HTTP ack time; a burst of concurrent mentions (all acked within 3 s, all
answered, none twice), then a burst of thread replies without a mention, each delivered
twice (Slack's retry) and answered once. Writes bench-results/slack.json.

The app runs with an opsbot.toml that adds a second source restricted to a user group, so
every answer pays for the access check and is scoped before ranking.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "slack")]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import percentile, summary  # noqa: E402

DEFAULT_QUESTIONS = REPO.parent / "shared" / "eval" / "article-dev.jsonl"
FALLBACK_QUESTIONS = ["What is MLOps?", "What is DevOps?", "devops vs mlops differences"]


def load_questions(path: Path, count: int) -> list[str]:
    found = []
    if path.is_file():
        found = [json.loads(x)["question"] for x in path.read_text().splitlines() if x.strip()]
    found = found or FALLBACK_QUESTIONS
    return [found[i % len(found)] for i in range(count)]


def open_engine(settings):
    from bot.engine.engine import Engine

    return Engine.open(settings, notify=lambda _m: None)


def timed_answer(engine, question: str) -> float:
    """The floor: the same engine answering in-process, no Slack at all (ms)."""
    started = time.perf_counter()
    engine.answer(question)
    return (time.perf_counter() - started) * 1000


BENCH_GROUP = "S0BENCH"
# The article is open to everyone; a second, small source is restricted to a user group, so
# every question pays for the access check and a scope applied before ranking.
CONFIG = """
[[source]]
path = "{knowledge}"

[[source]]
name = "restricted"
path = "{restricted}"
allow = ["{group}"]
"""
RESTRICTED_PAGE = "# On-call handover\n\nThe on-call engineer hands over the pager at 09:00.\n"


def start_app(fake, state: Path):
    from serve_proc import REPO as SERVE_REPO
    from serve_proc import app_env, free_port, start_serve
    from slack_sim import SlackSim

    # serve runs in `state`, so this is the default ./opsbot.toml
    restricted = state / "restricted"
    restricted.mkdir()
    (restricted / "handover.md").write_text(RESTRICTED_PAGE)
    config = CONFIG.format(
        knowledge=SERVE_REPO / "knowledge", restricted=restricted, group=BENCH_GROUP
    )
    (state / "opsbot.toml").write_text(config)
    fake.groups = {BENCH_GROUP: ["UHUMAN1"]}  # the asker may see the restricted source
    port = free_port()
    proc = start_serve(["--http", "--port", str(port)], app_env(fake, state), state, state / "log")
    sim = SlackSim(f"127.0.0.1:{port}", fake)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if sim.get("/healthz").status == 200:
                return proc, sim
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"opsbot serve did not start:\n{(state / 'log').read_text()[-2000:]}")


def round_trip(sim, question: str) -> tuple[float, float]:
    """(round trip ms, ack ms): signed mention sent -> chat.postMessage at the fake."""
    channel = "C" + uuid.uuid4().hex[:10].upper()
    started = time.perf_counter()
    event = sim.mention(question, channel)
    (post,) = sim.fake.wait_for("chat.postMessage", channel=channel, timeout=30)
    return (post.at - started) * 1000, event["reply"].seconds * 1000


def interleaved(sim, engine, questions: list[str]) -> tuple[list[float], list[float], list[float]]:
    """Engine floor and Slack round trip alternate per question, so machine noise hits both."""
    floor, trips, acks = [], [], []
    for question in questions:
        floor.append(timed_answer(engine, question))
        trip, ack = round_trip(sim, question)
        trips.append(trip)
        acks.append(ack)
    return floor, trips, acks


def burst(sim, size: int) -> dict:
    """`size` mentions at once: when is each acked, is each answered exactly once."""
    channels = ["C" + uuid.uuid4().hex[:10].upper() for _ in range(size)]
    gate = threading.Barrier(size + 1)
    acked: dict[str, tuple[int, float]] = {}

    def send(channel: str) -> None:
        gate.wait()
        event = sim.mention("What is MLOps?", channel)
        acked[channel] = (event["reply"].status, time.perf_counter())

    threads = [threading.Thread(target=send, args=(c,)) for c in channels]
    for t in threads:
        t.start()
    gate.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    for channel in channels:
        sim.fake.wait_for("chat.postMessage", channel=channel, timeout=60)
    answered_at = max(sim.fake.find("chat.postMessage", channel=c)[0].at for c in channels)
    time.sleep(1.0)  # a duplicate would show up now
    counts = [len(sim.fake.find("chat.postMessage", channel=c)) for c in channels]
    return {
        "size": size,
        "all_acked_s": round(max(t for _, t in acked.values()) - started, 3),
        "acks_ok": sum(1 for s, _ in acked.values() if s == 200),
        "answered": sum(1 for n in counts if n >= 1),
        "answered_twice": sum(1 for n in counts if n > 1),
        "all_answered_s": round(answered_at - started, 3),
        "thread_replies": thread_burst(sim, channels),
    }


def thread_burst(sim, channels: list[str]) -> dict:
    """A follow-up without a mention in every answered thread at once, each sent twice (the
    second as Slack's retry): every thread gets exactly one more answer."""
    gate = threading.Barrier(len(channels) + 1)

    def send(channel: str) -> None:
        parent = sim.fake.find("chat.postMessage", channel=channel)[0].params["thread_ts"]
        event = {"type": "message", "channel_type": "channel", "channel": channel}
        event |= {"user": "UHUMAN1", "text": "and how is it different from DevOps?"}
        event |= {"ts": sim.fake.next_ts(), "thread_ts": parent}
        sim.fake.add_message(channel, event["text"], ts=event["ts"], thread_ts=parent)
        body = sim.event_body(event)
        gate.wait()
        sim.post(body, "application/json")
        sim.post(body, "application/json", headers={"X-Slack-Retry-Num": "1"})

    threads = [threading.Thread(target=send, args=(c,)) for c in channels]
    for t in threads:
        t.start()
    gate.wait()
    for t in threads:
        t.join()
    for channel in channels:
        sim.fake.wait_for("chat.postMessage", count=2, channel=channel, timeout=60)
    time.sleep(1.0)  # a duplicate would show up now
    counts = [len(sim.fake.find("chat.postMessage", channel=c)) - 1 for c in channels]
    return {
        "size": len(channels),
        "answered": sum(1 for n in counts if n >= 1),
        "answered_twice": sum(1 for n in counts if n > 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=30, help="uncounted questions first")
    parser.add_argument("--questions-file", type=Path, default=DEFAULT_QUESTIONS)
    args = parser.parse_args(argv)

    from fake_slack import FakeSlack
    from serve_proc import stop

    from bot.config import Settings

    questions = load_questions(args.questions_file, args.questions)
    state = Path(tempfile.mkdtemp(prefix="opsbot-bench-slack-"))
    fake = FakeSlack().start()
    proc, sim = start_app(fake, state)  # builds the index in state/index
    try:
        settings = Settings(
            knowledge_dirs=(REPO / "knowledge",), index_dir=state / "index", data_dir=state / "x"
        )
        engine = open_engine(settings)
        interleaved(sim, engine, questions[: args.warmup])  # not counted
        floor, trips, acks = interleaved(sim, engine, questions)
        burst_result = burst(sim, args.burst)
    finally:
        code = stop(proc)
        fake.stop()
    results = {
        "questions": len(questions),
        "engine_ms": summary(floor),
        "round_trip_ms": summary(trips),
        "slack_overhead_p50_ms": round(statistics.median(trips) - statistics.median(floor), 2),
        "slack_overhead_p95_ms": round(percentile(trips, 0.95) - percentile(floor, 0.95), 2),
        "paired_overhead_p50_ms": round(statistics.median(map(float.__sub__, trips, floor)), 2),
        "ack_ms": summary(acks),
        "burst": burst_result,
        "clean_exit": code == 0,
    }
    print_table(results)
    out = REPO / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "slack.json").write_text(json.dumps(results, indent=2) + "\n")
    ok = (
        burst_result["all_acked_s"] < 3
        and burst_result["answered"] == args.burst
        and not burst_result["answered_twice"]
        and burst_result["thread_replies"]["answered"] == args.burst
        and not burst_result["thread_replies"]["answered_twice"]
    )
    return 0 if ok else 1


def print_table(r: dict) -> None:
    rows = [
        ("engine in-process (ms)", r["engine_ms"]),
        ("mention round trip (ms)", r["round_trip_ms"]),
        ("HTTP ack (ms)", r["ack_ms"]),
    ]
    print(f"{'':26}{'p50':>9}{'p95':>9}{'max':>9}")
    for name, s in rows:
        print(f"{name:26}{s['p50']:>9.2f}{s['p95']:>9.2f}{s['max']:>9.2f}")
    print(
        f"Slack layer adds {r['slack_overhead_p50_ms']:.2f} ms at p50 "
        f"(paired median {r['paired_overhead_p50_ms']:.2f} ms; {r['questions']} questions)"
    )
    b = r["burst"]
    print(
        f"burst {b['size']}: all acked in {b['all_acked_s']:.3f} s, answered {b['answered']}, "
        f"twice {b['answered_twice']}, all answered in {b['all_answered_s']:.3f} s"
    )
    t = b["thread_replies"]
    print(
        f"thread replies {t['size']} (each sent twice): answered {t['answered']}, "
        f"twice {t['answered_twice']}"
    )


if __name__ == "__main__":
    sys.exit(main())
