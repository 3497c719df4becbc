"""Answer quality on a docs site vs the same docs as files (issue 15's quality target).

Builds the code-with-engineering-playbook's `docs/` folder into a real MkDocs site, serves it
on loopback, syncs it with the docs-site source (bot/sources/site.py), and then runs the
playbook questions of corpus-dev both ways:

    files: --knowledge-dir <copy of playbook/docs>
    site:  --knowledge-dir DATA_DIR/sources/<name>/pages   (exactly the site source's listing)

    python scripts/site_quality.py [--playbook ../shared/corpus/code-with-engineering-playbook]
        [--questions ../shared/eval/corpus-dev.jsonl] [--work /tmp/site-quality]

Gold paths are playbook file paths (`code-with-engineering-playbook/docs/x/README.md`). For
the files run they lose the `code-with-engineering-playbook/docs/` prefix; for the site run
each is mapped through MkDocs's own page table (source file → page URL, e.g.
`x/README.md` → `/x/`), and the URL through the site source's `page_path` (`/x/` → `x.md`).
Prints page counts, sync and ingest times, and hit@5 / MRR for both runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import Settings  # noqa: E402
from bot.sources.crawl import page_path  # noqa: E402
from bot.sources.site import SiteSource  # noqa: E402
from bot.sources.spec import parse_source  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PREFIX = "code-with-engineering-playbook/"


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def build_site(playbook: Path, work: Path, base: str) -> dict[str, str]:
    """Build the MkDocs site; return {playbook-relative source path: site page path}."""
    from mkdocs.config import load_config
    from mkdocs.structure.files import get_files

    project = work / "mkdocs"
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(playbook / "docs", project / "docs")
    (project / "mkdocs.yml").write_text(f"site_name: Playbook\nsite_url: {base}\n")
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(project / "mkdocs.yml")],
        check=True,
        capture_output=True,
    )
    config = load_config(str(project / "mkdocs.yml"))
    pages = get_files(config).documentation_pages()
    return {f"docs/{f.src_uri}": page_path(base + f.url, "/") for f in pages}


def questions_for(source: Path, out: Path, gold_map: dict[str, str] | None) -> int:
    """Playbook questions with gold paths rewritten for one run; returns how many."""
    kept = []
    for line in source.read_text().splitlines():
        item = json.loads(line) if line.strip() else None
        if not item or not item.get("gold") or not all(g.startswith(PREFIX) for g in item["gold"]):
            continue
        inner = [g[len(PREFIX) :] for g in item["gold"]]
        if gold_map is None:
            item["gold"] = [g.removeprefix("docs/") for g in inner]
        else:
            item["gold"] = [gold_map[g] for g in inner if g in gold_map]
        kept.append(item)
    out.write_text("".join(json.dumps(item) + "\n" for item in kept))
    return len(kept)


def opsbot(*args: str, env: dict[str, str]) -> tuple[str, float]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout, time.perf_counter() - started


def run(name: str, knowledge: Path, questions: Path, work: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO), "DATA_DIR": str(work / f"{name}-data")}
    index = str(work / f"{name}-index")
    shutil.rmtree(index, ignore_errors=True)
    out, seconds = opsbot(
        "ingest", "--knowledge-dir", str(knowledge), "--index-dir", index, env=env
    )
    print(f"[{name}] ingest {seconds:.1f}s: {out.strip().splitlines()[0]}")
    out, _ = opsbot(
        "eval", str(questions), "--knowledge-dir", str(knowledge), "--index-dir", index,
        "--json", "--table", env=env,
    )  # fmt: skip
    return json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    shared = REPO.parent / "shared"
    parser.add_argument("--playbook", type=Path, default=shared / "corpus" / PREFIX.rstrip("/"))
    parser.add_argument("--questions", type=Path, default=shared / "eval/corpus-dev.jsonl")
    parser.add_argument("--work", type=Path, default=Path("/tmp/site-quality"))
    args = parser.parse_args()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(work / "www")))
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    gold_map = build_site(args.playbook, work, base)
    shutil.rmtree(work / "www", ignore_errors=True)
    shutil.copytree(work / "mkdocs/site", work / "www")
    threading.Thread(target=server.serve_forever, daemon=True).start()

    settings = Settings(data_dir=work / "site-sync", index_dir=work / "unused")
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    for attempt in ("first", "unchanged"):
        source = SiteSource(parse_source(base), settings)
        started = time.perf_counter()
        state = source.sync()
        r = source.report
        print(
            f"[site] {attempt} sync {time.perf_counter() - started:.2f}s: {state.revision}, "
            f"{r.requests} requests, {r.fetched} fetched, {r.changed} changed, "
            f"{r.unchanged} unchanged, {len(r.failed)} failed, error={state.error!r}"
        )
    pages = settings.data_dir / "sources" / source.spec.name / "pages"
    print(f"[site] MkDocs pages {len(gold_map)}; pages kept by the site source {state.documents}")

    files_q, site_q = work / "questions-files.jsonl", work / "questions-site.jsonl"
    count = questions_for(args.questions, files_q, None)
    questions_for(args.questions, site_q, gold_map)
    print(f"{count} playbook questions from {args.questions}")
    results = {
        "files": run("files", args.playbook / "docs", files_q, work),
        "site": run("site", pages, site_q, work),
    }
    for name, report in results.items():
        k = report["k"]
        print(
            f"{name:>5}: hit@{k} {report[f'hit@{k}']:.3f}  MRR {report['mrr']:.3f}  "
            f"lead {report['lead']:.3f}  false declines {report['false_declines']}"
        )
        for miss in report["misses"]:
            print(f"        miss {miss}")
    (work / "results.json").write_text(json.dumps(results, indent=1))
    server.shutdown()


if __name__ == "__main__":
    main()
