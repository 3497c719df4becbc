"""`opsbot tune`: pairs mined from the docs' own headings, a real training run on the CPU."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from bot import cli as cli_module
from bot.documents import Chunk
from bot.tune import Pair, TuneError, mine_pairs, tune

BODY = "A section body long enough to learn from, about how the thing it is under works. " * 2


def chunk(heading: str, text: str = BODY) -> Chunk:
    return Chunk(path="a.md", title=heading.split(" › ")[0], heading=heading, text=text)


def test_each_section_pairs_with_its_heading():
    pairs = mine_pairs([chunk("Guide › Reloading the config"), chunk("Guide › Basic auth")])
    assert [p.anchor for p in pairs] == ["Reloading the config", "Basic auth"]
    assert pairs[0].text == BODY.strip()


def test_a_shared_heading_is_qualified_by_its_parent():
    pairs = mine_pairs([chunk("Pushgateway › Summary"), chunk("Remote write › Summary")])
    assert [p.anchor for p in pairs] == ["Pushgateway › Summary", "Remote write › Summary"]


@pytest.mark.parametrize(
    "section",
    [
        chunk("Guide › Setup", "Too short."),  # says too little
        chunk("Guide › Go"),  # a heading too short to ask anything
    ],
)
def test_sections_with_too_little_are_left_out(section):
    assert mine_pairs([section]) == []


def test_too_few_pairs_is_a_clear_error(tmp_path):
    with pytest.raises(TuneError, match="only 1 heading"):
        tune([Pair("Reloading", BODY)], "unused", tmp_path / "model", batch_size=4)


def test_the_tuned_model_loads_and_moves_its_vectors(tmp_path):
    from bot.index.embedder import Embedder, default_model_dir

    pairs = [
        Pair(f"Topic {n}: reloading config number {n}", f"{BODY} Variant {n}.") for n in range(4)
    ]
    steps: list[int] = []
    report = tune(
        pairs,
        default_model_dir(),
        tmp_path / "tuned",
        batch_size=2,
        learning_rate=1e-4,
        progress=lambda step, total, loss: steps.append(step),
    )
    assert report.steps == 2 and steps == [1, 2] and report.pairs == 4
    assert (tmp_path / "tuned" / "modules.json").is_file()
    base = Embedder("").encode_query("how do I reload the config?")
    tuned = Embedder(str(tmp_path / "tuned")).encode_query("how do I reload the config?")
    assert tuned.shape == base.shape
    assert not np.allclose(tuned, base, atol=1e-4)  # training changed the model
    assert abs(float(np.linalg.norm(tuned)) - 1.0) < 1e-3  # still normalised for the index


def test_cli_with_too_few_passages_is_one_line_exit_2(
    monkeypatch, capsys, article_engine, article_settings, tmp_path
):
    argv = ["opsbot", "tune", "--knowledge-dir", str(article_settings.knowledge_dir)]
    argv += ["--index-dir", str(article_settings.index_dir), "--out", str(tmp_path / "m")]
    monkeypatch.setattr(sys, "argv", [*argv, "--batch-size", "64"])
    with pytest.raises(SystemExit) as exc:
        cli_module.main()
    _, err = capsys.readouterr()
    assert exc.value.code == 2
    assert "tuning needs at least 64" in err and err.strip().count("\n") == 0
    assert not (tmp_path / "m").exists()  # nothing written
