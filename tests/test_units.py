"""Answer units: how a chunk splits into sentences, items, rows and code."""

from __future__ import annotations

from bot.ingest.units import split_units

PACKED = """Intro sentence that sets the scene for the reader.

## Small Section

Only this line is here, and it answers the question.

- **First:** an item that goes on
  over two lines.
- Second item of the list, short but long enough.

| a | b |
|---|---|
| one | two |

```bash
dvc push --remote origin
```
"""


def test_units_keep_their_own_section_and_spans():
    units = split_units(PACKED)
    kinds = [u.kind for u in units]
    assert kinds == ["sentence", "sentence", "item", "item", "row", "row", "code"]
    assert units[0].section == ""
    assert all(u.section == "Small Section" for u in units[1:])
    for u in units:
        if u.kind != "code":
            assert " ".join(PACKED[u.start : u.end].split()) == u.text
    assert units[2].text == "- **First:** an item that goes on over two lines."
    assert units[-1].text.startswith("```bash") and units[-1].text.endswith("```")


def test_short_sentences_join_a_neighbour():
    units = split_units("Yes. It works when the cache is warm and the lock is free. Done.")
    assert [u.text for u in units] == [
        "Yes. It works when the cache is warm and the lock is free. Done."
    ]


def test_split_is_deterministic():
    assert split_units(PACKED) == split_units(PACKED)
