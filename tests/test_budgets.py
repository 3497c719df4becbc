"""Per-file ingest budgets (issue 17): a hostile file is skipped quickly with a warning that
names it, and the rest of the ingest goes on. Parsing runs in a child process, so the time
budget holds even inside a parser's own loops."""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, from_env
from bot.ingest import pipeline
from bot.ingest.budget import Budget, LoadError
from bot.ingest.loaders import SourceFile, load_document
from bot.ingest.worker import FileParser
from tests.hostile_files import deep_page_tree_pdf, many_pages_pdf, repeated_page_pdf

GOOD = "# Runner guide\n\n## Restarting\n\nRestart the runner with `runner restart`.\n"


def write(path: Path, data: bytes | str) -> SourceFile:
    raw = data.encode() if isinstance(data, str) else data
    path.write_bytes(raw)
    return SourceFile(path.name, path, hashlib.sha256(raw).hexdigest(), len(raw))


def reason(file: SourceFile, budget: Budget | None = None) -> str:
    with pytest.raises(LoadError) as caught:
        load_document(file, budget)
    return str(caught.value)


def test_a_2kb_pdf_naming_one_page_thousands_of_times_is_refused_at_once(tmp_path):
    raw = repeated_page_pdf()
    assert len(raw) < 2_500
    file = write(tmp_path / "evil.pdf", raw)
    started = time.perf_counter()
    assert reason(file) == "over budget: the PDF page tree names the same page again"
    assert time.perf_counter() - started < 1.0  # was 21 s and 6.2 M characters


def test_pdf_pages_characters_and_page_tree_depth_each_have_a_budget(tmp_path):
    pages = write(tmp_path / "pages.pdf", many_pages_pdf(30))
    assert load_document(pages, Budget(pages=30)).sections  # at the limit: fine
    assert reason(pages, Budget(pages=29)) == "over budget: more than 29 PDF pages"
    assert reason(pages, Budget(chars=5_000)) == "over budget: more than 5,000 characters of text"
    deep = write(tmp_path / "deep.pdf", deep_page_tree_pdf(12))
    assert load_document(deep, Budget(nesting=12)).sections
    assert reason(deep, Budget(nesting=11)) == "over budget: nested deeper than 11 levels"


def test_html_and_markdown_nesting_and_size_budgets(tmp_path):
    html = write(tmp_path / "deep.html", "<html><body>" + "<div>" * 5_000 + "x" + "</div>" * 5_000)
    assert reason(html) == "over budget: nested deeper than 100 levels"  # was a RecursionError
    # markdown-it silently dropped everything below 20 levels; now it is over budget
    quotes = write(tmp_path / "quotes.md", "# Quotes\n\nintro\n\n" + ">" * 50 + " lost text\n")
    assert reason(quotes) == "over budget: nested deeper than 18 levels"
    lists = "# Lists\n\n" + "".join("  " * i + "- item\n" for i in range(8))
    assert load_document(write(tmp_path / "lists.md", lists)).sections  # real docs: <= 9
    big = write(tmp_path / "big.md", GOOD + "\n" + "word " * 400)
    assert reason(big, Budget(chars=1_000)) == "over budget: more than 1,000 characters of text"


def test_the_time_budget_stops_a_parser_stuck_in_its_own_loop(tmp_path):
    """A flag check cannot interrupt pure-Python parser loops; the worker is killed."""
    slow = write(tmp_path / "slow.md", "# Slow\n\n" + "*a" * 400_000 + "\n")
    good = write(tmp_path / "good.md", GOOD)
    with FileParser(Budget(seconds=0.5)) as parser:
        started = time.perf_counter()
        with pytest.raises(LoadError, match=r"^over budget: still parsing after 0.5s$"):
            parser.parse(slow)
        assert time.perf_counter() - started < 10.0  # in process: far longer
        assert parser.parse(good).title == "Runner guide"  # a fresh worker takes over


def test_a_crashing_parser_is_one_skipped_file(tmp_path, monkeypatch):
    good = write(tmp_path / "good.md", GOOD)
    with FileParser(Budget()) as parser:
        assert parser.parse(good).title == "Runner guide"
        assert parser._proc is not None
        parser._proc.kill()  # as the kernel's OOM killer would
        with pytest.raises(LoadError, match="the parser stopped"):
            parser.parse(good)
        assert parser.parse(good).title == "Runner guide"


def test_ingest_skips_the_hostile_pdf_with_a_warning_and_indexes_the_rest(tmp_path, caplog):
    knowledge = tmp_path / "kb"
    knowledge.mkdir()
    (knowledge / "runner.md").write_text(GOOD)
    (knowledge / "evil.pdf").write_bytes(repeated_page_pdf())
    (knowledge / "slow.md").write_text("# Slow\n\n" + "*a" * 1_000_000 + "\n")
    settings = Settings(
        knowledge_dirs=(knowledge,),
        index_dir=tmp_path / "idx",
        data_dir=tmp_path / "data",
        max_file_seconds=3.0,
    )
    caplog.set_level(logging.WARNING, logger="bot.ingest.pipeline")
    summary = pipeline.ingest(settings)
    skipped = {s.path: s.reason for s in summary.skipped}
    assert skipped == {
        "evil.pdf": "over budget: the PDF page tree names the same page again",
        "slow.md": "over budget: still parsing after 3s",
    }
    assert summary.files == 1 and summary.chunks >= 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "skipped evil.pdf: over budget: the PDF page tree names the same page again" in warnings
    assert any(w.startswith("skipped slow.md: over budget") for w in warnings)


def test_budget_settings_come_from_the_environment():
    settings = from_env(
        {
            "MAX_FILE_SECONDS": "2.5",
            "MAX_FILE_CHARS": "1000",
            "MAX_FILE_PAGES": "10",
            "MAX_FILE_NESTING": "40",
        }
    )
    assert Budget.of(settings) == Budget(seconds=2.5, chars=1000, pages=10, nesting=40)
    assert Budget.of(Settings()) == Budget()
    with pytest.raises(ConfigError, match="MAX_FILE_NESTING must be at most 200"):
        from_env({"MAX_FILE_NESTING": "5000"})
