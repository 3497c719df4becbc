"""Discovery and per-format loading into Documents."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from bot.ingest.loaders import (
    LoadError,
    SourceFile,
    discover,
    load_document,
    load_documents,
    pretty_name,
)

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEED = Path(__file__).resolve().parents[2] / "shared/seed/devops-vs-mlops-article.txt"
CORPUS = Path(__file__).resolve().parents[2] / "shared/corpus"

ARTICLE_TITLE = "DevOps vs MLOps: differences and similarities"
ARTICLE_HEADINGS = [
    (),
    ("What is DevOps?",),
    ("What is MLOps?",),
    ("What They Have in Common",),
    ("What Sets Them Apart",),
    ("In Summary",),
]


def source(path: Path, rel: str | None = None) -> SourceFile:
    raw = path.read_bytes()
    return SourceFile(rel or path.name, path, hashlib.sha256(raw).hexdigest(), len(raw))


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def text_pdf(path: Path, lines: list[str], title: str | None = None) -> Path:
    """A real one-page PDF with extractable Helvetica text, made with pypdf only."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
    )
    ops = " ".join(f"({line}) Tj T*" for line in lines)
    stream = DecodedStreamObject()
    stream.set_data(f"BT /F1 12 Tf 72 720 Td 14 TL {ops} ET".encode())
    page.replace_contents(stream)
    if title:
        writer.add_metadata({"/Title": title})
    writer.write(path)
    return path


def blank_pdf(path: Path) -> Path:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    writer.write(path)
    return path


# ---- discover ----------------------------------------------------------------------------


def test_discover_walks_sorted_supported_visible_files(tmp_path: Path) -> None:
    write(tmp_path / "b.md", "# B\n\nbody")
    write(tmp_path / "a" / "z.txt", "text")
    write(tmp_path / "a" / "Notes.MD", "# N\n\nbody")
    write(tmp_path / "page.htm", "<p>x</p>")
    write(tmp_path / "script.py", "print(1)")  # unsupported: silently ignored
    write(tmp_path / ".hidden.md", "# secret")
    write(tmp_path / ".git" / "HEAD.md", "# git internals")
    write(tmp_path / "empty.md", b"")
    write(tmp_path / "big.txt", "x" * 2_000)
    os.symlink(tmp_path, tmp_path / "a" / "loop")  # a symlink loop must not hang or repeat

    files, skipped = discover(tmp_path, max_file_bytes=1_000)

    assert [f.path for f in files] == ["a/Notes.MD", "a/z.txt", "b.md", "page.htm"]
    z = files[1]
    assert z.abspath == (tmp_path / "a" / "z.txt").absolute()
    assert z.size == 4 and z.sha256 == hashlib.sha256(b"text").hexdigest()
    assert [(s.path, s.reason) for s in skipped] == [
        ("big.txt", "over size limit (2.0 KB > 1.0 KB)"),
        ("empty.md", "empty"),
    ]


def test_oversize_reason_in_megabytes(tmp_path: Path) -> None:
    big = write(tmp_path / "huge.md", b"#" * 5_100_000)
    _, skipped = discover(big.parent, max_file_bytes=5_000_000)
    assert skipped[0].reason == "over size limit (5.1 MB > 5.0 MB)"


# ---- load errors -------------------------------------------------------------------------


def test_load_errors_have_short_reasons(tmp_path: Path) -> None:
    cases = {
        "nul.md": b"# Title\n\x00\x01\x02 binary",
        "latin1.txt": "Caf\u00e9 cr\u00e8me".encode("latin-1"),
        "blank.md": b"   \n\n\t\n",
        "corrupt.pdf": b"%PDF-1.7\nthis is not really a pdf",
    }
    for name, data in cases.items():
        write(tmp_path / name, data)
    reasons = {}
    for name in cases:
        with pytest.raises(LoadError) as exc:
            load_document(source(tmp_path / name))
        reasons[name] = str(exc.value)
    assert reasons["nul.md"] == "binary file"
    assert reasons["latin1.txt"] == "not UTF-8 text"
    assert reasons["blank.md"] == "no text after cleaning"
    assert reasons["corrupt.pdf"].startswith("unreadable PDF: ")


def test_blank_pdf_has_no_text(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="no text"):
        load_document(source(blank_pdf(tmp_path / "blank.pdf")))


def test_load_documents_collects_every_skip_reason(tmp_path: Path) -> None:
    write(tmp_path / "good.md", "# Good\n\nUseful text.")
    write(tmp_path / "nul.txt", b"a\x00b")
    write(tmp_path / "empty.txt", b"")
    write(tmp_path / "bad.pdf", b"not a pdf at all")
    docs, skipped = load_documents(tmp_path, 1_000_000)
    assert [d.title for d in docs] == ["Good"]
    assert {s.path: s.reason.split(":")[0] for s in skipped} == {
        "bad.pdf": "unreadable PDF",
        "empty.txt": "empty",
        "nul.txt": "binary file",
    }


# ---- PDF ---------------------------------------------------------------------------------


def test_text_pdf_loads_with_metadata_title(tmp_path: Path) -> None:
    lines = ["Rollback Runbook", "Deploys fail sometimes. Roll back fast.", "1. Stop the rollout."]
    pdf = text_pdf(tmp_path / "runbook.pdf", lines, title="Rollback Runbook")
    doc = load_document(source(pdf))
    assert doc.title == "Rollback Runbook"
    body = "\n".join(b for s in doc.sections for b in s.blocks)
    assert "Deploys fail sometimes. Roll back fast." in body
    assert "1. Stop the rollout." in body
    assert "Rollback Runbook" not in body  # the title line is not repeated as content


def test_pdf_without_metadata_title_uses_file_name(tmp_path: Path) -> None:
    pdf = text_pdf(tmp_path / "incident_review-2024.pdf", ["Root cause was a full disk."])
    doc = load_document(source(pdf))
    assert doc.title == "Incident review 2024"
    assert doc.sections[0].blocks == ("Root cause was a full disk.",)


# ---- the seed article ----------------------------------------------------------------------


def test_raw_seed_article_loads_as_text() -> None:
    if not SEED.is_file():
        pytest.skip(f"{SEED} is missing")
    doc = load_document(source(SEED, "devops-vs-mlops-article.txt"))
    assert doc.title == ARTICLE_TITLE
    assert [s.headings for s in doc.sections] == ARTICLE_HEADINGS
    assert doc.sections[0].blocks[0].startswith("When it comes to building and managing software")
    common = doc.sections[3].blocks
    assert common == (
        "1. Automation: Both DevOps and MLOps love using machines to do repetitive tasks. "
        "This helps get things done faster and with fewer mistakes.\n"
        "2. Teamwork: They're big fans of teamwork. DevOps brings developers and operations "
        "folks together, while MLOps teams up with data experts to manage those smart models.\n"
        "3. Continuous Improvements: Both believe in always making things better. They're "
        "constantly checking and updating to keep software running smoothly.",
    )
    body = "\n".join(b for s in doc.sections for b in s.blocks)
    assert ARTICLE_TITLE not in body  # the duplicated title line is dropped
    assert "?" not in body  # every '?' in the body was an artefact
    for junk in ("登录", "的更多文章", "社区洞察", "其他会员也浏览了", "Aesthisia"):
        assert junk not in body
    assert body.endswith("make our digital world run smoothly.")


def test_knowledge_article_matches_seed_structure() -> None:
    doc = load_document(source(REPO / "knowledge/devops-vs-mlops.md", "devops-vs-mlops.md"))
    assert doc.title == ARTICLE_TITLE
    assert [s.headings for s in doc.sections] == ARTICLE_HEADINGS
    assert (
        doc.sections[3]
        .blocks[0]
        .startswith(
            "1. **Automation:** Both DevOps and MLOps love using machines to do repetitive tasks."
        )
    )
    assert doc.sections[4].blocks[0].count("\n") == 2  # three numbered items
    text = "\n".join(b for s in doc.sections for b in s.blocks)
    assert "??" not in text and ".?" not in text and ":?" not in text


# ---- markdown ------------------------------------------------------------------------------


def test_markdown_components_links_tables_and_code() -> None:
    doc = load_document(source(FIXTURES / "dvc-style.md", "docs/add.md"))
    assert doc.title == "Tracking Data with DVC"  # front matter beats the H1
    assert doc.url == "https://example.org/docs/track"
    assert [s.headings for s in doc.sections] == [
        (),
        ("Synopsis",),  # the {#synopsis} anchor is stripped
        ("Options",),
        ("Options", "Expand to see the cache layout"),
    ]
    intro, synopsis, options, layout = (s.blocks for s in doc.sections)
    assert intro == (
        "Track data files with DVC. Files are stored in the cache and described by "
        "`.dvc` files. See the user guide for more.",
    )
    assert synopsis[0] == "```cli\n$ dvc add data.xml\n$ dvc push\n```"
    assert synopsis[1] == (
        "Use `dvc add -o <path>` to place the data elsewhere. Placeholders like <name> stay."
    )
    assert options == (
        "- `--no-commit` - do not store `targets` in the cache.\n"
        "- `--glob` - allow wildcards:\n"
        "  - `*` any characters\n"
        "  - `?` one character",
    )
    assert layout[0] == (
        "| Path | Meaning |\n|---|---|\n"
        "| `.dvc/cache/files/md5` | content-addressed objects |\n"
        "| `.dvc/tmp` | temporary files |"
    )
    assert "Why not Git LFS? Git LFS needs a special server." in layout
    assert "**Linux**" in layout and "Install with `pip install dvc`." in layout
    everything = "\n".join(b for s in doc.sections for b in s.blocks)
    for leftover in ("<admon", "</admon", "<abbr", "<details", "<summary", "<tab", "]:", "/doc/"):
        assert leftover not in everything


@pytest.mark.parametrize(
    ("name", "content", "title"),
    [
        ("guide.md", "Intro line.\n\n# Real Title\n\nBody.", "Real Title"),
        ("ci-cd_basics.md", "## Only a section\n\nBody.", "Ci cd basics"),
        ("ops/README.md", "Body only.", "Ops"),
        (
            "term.md",
            "---\nname: 'DVC Cache'\ntooltip: >-\n  Hidden storage for files.\n---\n",
            None,
        ),
    ],
)
def test_markdown_title_fallbacks(tmp_path: Path, name: str, content: str, title: str) -> None:
    doc = load_document(source(write(tmp_path / name, content), name))
    if name == "term.md":  # glossary entries keep their text in the front matter
        assert doc.title == "DVC Cache"
        assert doc.sections[0].blocks == ("Hidden storage for files.",)
    else:
        assert doc.title == title


def test_pretty_name() -> None:
    assert pretty_name("runbooks/on-call_rotation.md") == "On call rotation"
    assert pretty_name("docs/ci-cd/index.md") == "Ci cd"


def test_real_dvc_doc_comes_out_clean() -> None:
    path = CORPUS / "dvc-docs/content/docs/command-reference/get.md"
    if not path.is_file():
        pytest.skip("shared corpus is missing")
    doc = load_document(source(path, "dvc-docs/get.md"))
    assert doc.title == "get"
    assert ("Options",) in [s.headings for s in doc.sections]
    text = "\n".join(b for s in doc.sections for b in s.blocks)
    assert "from its cache first." in text  # <abbr>cache</abbr> kept as text
    assert "serves as an ETL pipeline" in text  # [ETL] reference link kept as text
    for leftover in ("<admon", "<abbr", "[etl]:", "](", "https://en.wikipedia.org"):
        assert leftover not in text


# ---- HTML and plain text ---------------------------------------------------------------------


def test_html_page() -> None:
    doc = load_document(source(FIXTURES / "page.html"))
    assert doc.title == "Blue-Green Deployments"
    assert doc.url == "https://example.org/blue-green"
    assert [s.headings for s in doc.sections] == [
        (),
        ("How it works",),
        ("How it works", "Switching traffic"),
        ("Costs",),
    ]
    assert doc.sections[0].blocks == (
        "Run two identical environments and switch traffic between them.",
    )
    assert doc.sections[1].blocks == (
        "Deploy to the idle (green) environment, test it, then flip the router. "
        "Use `kubectl rollout` when on Kubernetes.",
        "- Zero downtime\n- Instant rollback\n  1. flip the router back",
    )
    code, table = doc.sections[2].blocks
    assert code.startswith("```bash\nkubectl patch service web") and code.endswith("\n```")
    assert table == "| Slot | State |\n|---|---|\n| blue | live |\n| green | idle |"
    text = "\n".join(b for s in doc.sections for b in s.blocks)
    for junk in ("tracking", "color: red", "Menu item", "Home", "rights reserved", "html"):
        assert junk not in text


def test_plain_text_structure(tmp_path: Path) -> None:
    raw = (
        "On-call Handbook\n\nOn-call Handbook\n\nRead this before your first shift.\n\n"
        "Escalation Policy\n\nPage the secondary after 15 minutes.\n\n"
        "Who gets paged?\n\n- the primary\n- the secondary\n\n"
        "Before you start:\n\n1) check the dashboard\n2) read the handover\n"
        "   notes from yesterday\n\nthis short line stays a paragraph\n"
    )
    doc = load_document(source(write(tmp_path / "oncall.txt", raw)))
    assert doc.title == "On-call Handbook"
    assert [(s.headings, s.blocks) for s in doc.sections] == [
        ((), ("Read this before your first shift.",)),
        (("Escalation Policy",), ("Page the secondary after 15 minutes.",)),
        (("Who gets paged?",), ("- the primary\n- the secondary",)),
        (
            ("Before you start",),
            (
                "1. check the dashboard\n2. read the handover notes from yesterday",
                "this short line stays a paragraph",
            ),
        ),
    ]
