"""`opsbot report` on a real store with known contents: numbers, groups, every format."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from bot import cli as cli_module
from bot.config import ConfigError, Settings
from bot.report.data import build_report, parse_since
from bot.report.grouping import Asked, group_questions
from bot.report.render import render_report
from bot.store import Interaction, open_store

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC).timestamp()
HOUR = 3600
HOSTILE = "</li><script>alert('x')</script> & <b>vault</b>?"
VAULT = [
    "How do I rotate Vault secrets?",
    "how to rotate secrets in vault",
    "Rotating Vault secrets",
]


def src(path: str, title: str, score: float = 0.7) -> dict:
    return {"path": path, "title": title, "heading": f"{title} › Intro", "score": score}


DEVOPS = src("devops-vs-mlops.md", "DevOps vs MLOps")
SLACK = src("connect-slack.md", "Connect Slack")
K8S = src("k8s.md", "Kubernetes <basics> & more")


def seed(store) -> dict[str, int]:
    """10 interactions in the last 7 days (6 answered), one older; 1 👍 and 3 👎."""
    rows = [
        ("What is MLOps?", True, [DEVOPS], 10, 1),
        ("DevOps vs MLOps?", True, [DEVOPS, SLACK], 20, 2),
        ("mlops tools", True, [DEVOPS], 30, 3),
        ("How do I connect Slack?", True, [SLACK], 40, 4),
        ("Slack tokens?", True, [SLACK], 50, 5),
        ("How do I configure GPU nodes?", True, [K8S], 60, 30),
        (VAULT[0], False, [src("k8s.md", "Kubernetes <basics> & more", 0.3)], 5, 6),
        (VAULT[1], False, [], 5, 26),
        (VAULT[2], False, [], 5, 50),
        (HOSTILE, False, [], 100, 7),
        ("ancient question", False, [], 999, 10 * 24),  # outside the window
    ]
    ids = {}
    for question, ok, sources, latency, hours_ago in rows:
        record = Interaction(
            question,
            "answer",
            sources,
            ok,
            "U1",
            "C1",
            "dm" if ok else "mention",
            sources[0]["score"] if sources else 0.0,
            latency,
            created_at=NOW - hours_ago * HOUR,
        )
        ids[question] = store.save_interaction(record)
    assert store.record_vote(ids["How do I connect Slack?"], "U1", "C1", "down")
    assert store.record_vote(ids["How do I connect Slack?"], "U2", "C1", "down")
    assert store.record_vote(ids["What is MLOps?"], "U3", "C1", "up")
    assert store.record_vote(ids["How do I configure GPU nodes?"], "U4", "C1", "down")
    return ids


@pytest.fixture
def seeded(tmp_path, database_url):
    store = open_store(Settings(database_url=database_url, retention_days=0))
    seed(store)
    yield store
    store.close()


@pytest.fixture(scope="module")
def embed():
    from bot.index.embedder import Embedder

    return Embedder().encode


def test_numbers(seeded):
    report = build_report(
        seeded, since_seconds=7 * 86400, window="7d", questions_stored=True, embed=None, now=NOW
    )
    assert (report.total, report.answered, report.declined) == (10, 6, 4)
    assert report.answer_rate == 0.6
    assert report.latency_median_ms == 25.0  # 5 5 5 10 20 | 30 40 50 60 100
    assert report.latency_p95_ms == 100.0
    assert report.surfaces == {"dm": 6, "mention": 4}
    assert [(t.title, t.count) for t in report.topics] == [
        ("DevOps vs MLOps", 3),
        ("Connect Slack", 2),
        ("Kubernetes <basics> & more", 1),
    ]
    assert (report.votes_up, report.votes_down, report.needs_docs) == (1, 3, 6)
    assert [(s.path, s.down, s.up) for s in report.downvoted_sources] == [
        ("connect-slack.md", 2, 0),
        ("k8s.md", 1, 0),
    ]
    assert len(report.per_day) == 8 and report.per_day[-1].day == "2026-01-15"
    assert sum(d.answered for d in report.per_day) == 6
    assert sum(d.declined for d in report.per_day) == 4
    assert report.per_day[-1].answered == 5  # the GPU question was 30 hours ago
    narrow = build_report(
        seeded, since_seconds=24 * HOUR, window="24h", questions_stored=True, embed=None, now=NOW
    )
    assert (narrow.total, narrow.answered) == (7, 5)


def test_near_duplicate_declines_group_together_largest_first(embed):
    asked = [Asked(q, "declined") for q in VAULT]
    asked += [Asked("best pizza in Naples?", "declined"), Asked("Slack tokens?", "downvoted")]
    asked += [Asked("how to rotate secrets in vault", "declined")]  # asked twice
    groups = group_questions(asked, embed)
    assert [g.size for g in groups] == [4, 1, 1]
    assert groups[0].examples[0] == "how to rotate secrets in vault"  # the most-asked wording
    assert set(groups[0].examples) == set(VAULT)
    assert {g.examples[0] for g in groups[1:]} == {"best pizza in Naples?", "Slack tokens?"}


def test_text_report_groups_gaps_and_names_sources(seeded, embed):
    report = build_report(
        seeded, since_seconds=7 * 86400, window="7d", questions_stored=True, embed=embed, now=NOW
    )
    first = report.groups[0]
    assert (first.size, first.declined, first.downvoted) == (3, 3, 0)
    assert first.closest == "Kubernetes <basics> & more"
    assert sorted(g.size for g in report.groups) == [1, 1, 1, 3]
    text = render_report(report, "text")
    assert "Questions:    10 (6 answered, 4 declined)" in text
    assert "Answer rate:  60%" in text and "median 25 ms, p95 100 ms" in text
    assert "3×" in text and VAULT[0] in text
    assert "2 👎   0 👍  Connect Slack (connect-slack.md)" in text
    data = json.loads(render_report(report, "json"))
    assert data["total"] == 10 and data["answer_rate"] == 0.6
    assert data["groups"][0]["size"] == 3 and data["since"] == "2026-01-08T12:00:00+00:00"


def test_html_is_one_well_formed_escaped_file(seeded, embed):
    report = build_report(
        seeded, since_seconds=7 * 86400, window="7d", questions_stored=True, embed=embed, now=NOW
    )
    page = render_report(report, "html")
    assert page.startswith("<!DOCTYPE html>")
    root = ET.fromstring(page.split("\n", 1)[1])  # strict XML parse: every tag closed
    assert root.tag == "html"
    ns = "{http://www.w3.org/2000/svg}"
    assert len(root.findall(f".//{ns}svg")) == 1 and len(root.findall(f".//{ns}rect")) > 10
    assert "👎 Not helpful" in page and "👍 Helpful" in page  # column headers say what they count
    assert "Answer voted 👎 not helpful:</b> answer" in page  # the answer that got the 👎
    assert "<script" not in page.lower() and "&lt;script&gt;" in page
    assert "Kubernetes &lt;basics&gt; &amp; more" in page
    assert not re.search(r"""(src|href)\s*=|@import|url\(""", page)  # nothing fetched
    texts = "".join(root.itertext())
    assert HOSTILE in texts and "60%" in texts


def test_html_one_day_window_has_separate_date_labels(seeded, embed):
    report = build_report(
        seeded, since_seconds=86400, window="1d", questions_stored=True, embed=embed, now=NOW
    )
    root = ET.fromstring(render_report(report, "html").split("\n", 1)[1])
    axes = [d for d in root.iter("div") if d.get("class") == "axis"]
    labels = [span.text for span in axes[-1]]
    assert labels == ["2026-01-14", "2026-01-15"]  # HTML flex labels: they cannot overlap


def test_store_questions_false_report_has_numbers_and_no_text(seeded, embed):
    report = build_report(
        seeded, since_seconds=7 * 86400, window="7d", questions_stored=False, embed=embed, now=NOW
    )
    assert (report.total, report.needs_docs, report.groups) == (10, 6, [])
    for fmt in ("text", "json", "html"):
        out = render_report(report, fmt)
        assert "vault" not in out.lower() and "Slack tokens" not in out
        assert "STORE_QUESTIONS=false" in out or '"questions_stored": false' in out
        assert "100 ms" in out or '"latency_p95_ms": 100.0' in out


@pytest.mark.parametrize("raw, seconds", [("7d", 604800), ("24h", 86400), ("2W", 1209600)])
def test_parse_since(raw, seconds):
    assert parse_since(raw) == seconds


@pytest.mark.parametrize("raw", ["7", "7x", "0d", "-1d", "d", "", "1.5d"])
def test_bad_since_is_a_config_error(raw):
    with pytest.raises(ConfigError, match="--since"):
        parse_since(raw)


def test_cli_writes_html_and_rejects_bad_since(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RETENTION_DAYS", "0")
    store = open_store(Settings(data_dir=tmp_path, retention_days=0))
    store.save_interaction(Interaction("What is MLOps?", "a", [DEVOPS], True, surface="chat"))
    store.close()
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        cli_module.cli, ["report", "--since", "1d", "--format", "html", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "DevOps vs MLOps" in out.read_text() and "</html>" in out.read_text()
    text = CliRunner().invoke(cli_module.cli, ["report", "--format", "json"])
    assert json.loads(text.output)["total"] == 1

    monkeypatch.setattr(sys, "argv", ["opsbot", "report", "--since", "7x"])
    with pytest.raises(SystemExit) as exc:
        cli_module.main()
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1 and "--since" in err


def test_escalations_are_listed_beside_the_downvoted_answers(seeded):
    ids = {i.question: i.id for i in seeded.interactions()}
    assert seeded.record_escalation(ids[VAULT[0]], "U9", "C0HELP", "S0ONCALL")
    assert not seeded.record_escalation(ids[VAULT[0]], "U8", "C0HELP", "S0ONCALL")  # once
    assert seeded.record_escalation(ids["How do I connect Slack?"], "U9", "C0HELP", "S0ONCALL")
    report = build_report(
        seeded, since_seconds=7 * 86400, window="7d", questions_stored=True, embed=None, now=NOW
    )
    assert [(e.question, e.answered, e.group) for e in report.escalations] == [
        (VAULT[0], False, "S0ONCALL"),
        ("How do I connect Slack?", True, "S0ONCALL"),
    ]
    text = render_report(report, "text")
    assert "Questions handed to a person (2 × Ask a person):" in text
    assert f"  - {VAULT[0]}  [declined; #C0HELP → S0ONCALL]" in text
    assert "Questions handed to a person (2)" in render_report(report, "html")
    assert json.loads(render_report(report, "json"))["escalations"][0]["channel"] == "C0HELP"


def test_documents_of_restricted_sources_stay_out_of_the_report(seeded):
    def hidden(path: str) -> bool:
        return path == "connect-slack.md"

    report = build_report(
        seeded,
        since_seconds=7 * 86400,
        window="7d",
        questions_stored=True,
        embed=None,
        now=NOW,
        hidden=hidden,
    )
    text = render_report(report, "text") + render_report(report, "html")
    assert "Connect Slack" not in text and "connect-slack.md" not in text
    assert [t.title for t in report.topics] == ["DevOps vs MLOps", "Kubernetes <basics> & more"]


CONTROL = "why does \x1b[31mred\x1b[0m vault\x00 say\x07 \x9b2J\u2028bye\nFAKE LINE?"
PASTED = "vault login postgresql://ops:hunter2-planted@db.internal:5432/x fails"


def test_every_format_escapes_control_characters_and_credentials(tmp_path, embed):
    """Stored questions are user input: a question holding ANSI escapes, NUL, BEL, C1,
    a line separator or a newline must not reach the operator's terminal raw, break the
    HTML's XML, or forge a line; a pasted user:password@ is redacted everywhere."""
    store = open_store(Settings(database_url=f"sqlite:///{tmp_path / 's.db'}", retention_days=0))
    try:
        for question in (CONTROL, CONTROL + " again", PASTED):
            row = Interaction(question, "", [], False, "U1", "C1", "mention", 0.0, 5.0)
            store.save_interaction(dataclasses.replace(row, created_at=NOW - HOUR))
        report = build_report(
            store, since_seconds=86400, window="1d", questions_stored=True, embed=embed, now=NOW
        )
    finally:
        store.close()
    raw = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
    for fmt in ("text", "html", "json"):
        page = render_report(report, fmt)
        assert not raw.search(page), (fmt, raw.findall(page))
        assert "hunter2-planted" not in page and "db.internal" in page, fmt
        assert "\\x1b[31mred" in page or "\\\\x1b[31mred" in page, fmt  # shown, escaped
        assert not any(line.startswith("FAKE LINE") for line in page.splitlines()), fmt
    ET.fromstring(render_report(report, "html").split("\n", 1)[1])  # well-formed XML
    json.loads(render_report(report, "json"))
