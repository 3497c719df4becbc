"""The direct answer shaped by the kind of question, and passages that don't repeat it."""

from __future__ import annotations

from bot.documents import Chunk
from bot.engine.comparison import comparison
from bot.engine.compose import compose
from bot.engine.lead import choose_lead, lead_text
from bot.engine.question import Question
from bot.engine.rerank import Evidence, ScoredUnit
from bot.engine.shape import pasted_error, question_shape
from bot.ingest.units import split_units


def evidence(text: str, scores: dict[str, float], score: float = 0.8) -> Evidence:
    """A passage whose units score as given (by a prefix of their text), else 0.3."""
    units = []
    for i, unit in enumerate(split_units(text)):
        s = next((v for k, v in scores.items() if unit.text.startswith(k)), 0.3)
        units.append(ScoredUnit(unit, i, s, 0.0, 0.0, s))
    return Evidence(1, Chunk("a.md", "A", "A › Hooks", text), score, 0.7, units)


HOOK = """## Pre-sync hooks

A pre-sync hook runs a job before the main sync, so migrations finish first.
Declare the hook on the job, and it runs before the main sync (also in wave -1):

```yaml
metadata:
  annotations:
    hook: PreSync
```

The hook is deleted once it succeeds, unless a policy keeps it.
"""


def test_howto_lead_brings_the_code_block_its_introduction_announces():
    ev = evidence(HOOK, {"Declare the hook": 0.8, "A pre-sync hook": 0.7, "```": 0.5})
    lead = lead_text(choose_lead([ev], asked("how do I run a migration before the sync?")))
    assert (
        "(also in wave -1): [1]\n\n```yaml\nmetadata:\n  annotations:\n    hook: PreSync\n```"
        in lead
    )
    assert not lead.rstrip().endswith(":")


def test_an_introduction_without_what_follows_is_left_out():
    text = "Use the flag to keep the series around.\n\nSet it like this:"
    ev = evidence(text, {"Set it like this": 0.9, "Use the flag": 0.6})
    lead = lead_text(choose_lead([ev], asked("how do I keep the series?")))
    assert lead == "Use the flag to keep the series around. [1]"


def test_a_code_block_chosen_alone_comes_after_its_lead_in_and_keeps_its_lines():
    text = "Start the agent with the config file.\n\n```bash\nagent \\\n  --config a.yml\n```"
    ev = evidence(text, {"```": 0.9, "Start": 0.5})
    lead = lead_text(choose_lead([ev], asked("how do I start the agent?")))
    assert (
        lead
        == "Start the agent with the config file. [1]\n\n```bash\nagent \\\n  --config a.yml\n```"
    )


ERROR_DOC = """## Too many open files

Some users see `[Errno 24] Too many open files` when pulling many files at once.
To fix it, raise the open file limit with `ulimit -n 4096`, or lower the number of jobs.
"""


def test_error_lead_states_the_fix_not_the_pasted_error():
    ev = evidence(ERROR_DOC, {"Some users see": 0.8, "To fix it": 0.7})
    question = "pull dies with '[Errno 24] Too many open files'. what now?"
    lead = lead_text(choose_lead([ev], asked(question)))
    assert lead.startswith("To fix it, raise the open file limit")


def test_definition_lead_is_a_sentence_not_a_code_line():
    text = (
        "```\nkind: Sidecar\n```\n\nA sidecar is a helper container that shares the pod's network."
    )
    ev = evidence(text, {"```": 0.9, "A sidecar": 0.7})
    lead = lead_text(choose_lead([ev], asked("what is a sidecar?")))
    assert lead == "A sidecar is a helper container that shares the pod's network. [1]"


def test_a_sentence_that_refers_back_comes_after_what_it_refers_to():
    text = (
        "There are two patterns for failed scrapes.\n\nThe first is to return a 5xx error.\n\n"
        "The second is to expose an up metric set to 0 or 1."
    )
    ev = evidence(text, {"The second": 0.9})
    lead = lead_text(choose_lead([ev], asked("return an error or expose an up metric?")))
    assert lead.startswith("There are two patterns for failed scrapes. [1] The first is")
    assert "The second is to expose" in lead


ROTATION = """## Rotating keys

Rotate keys every quarter with a scheduled job.

Rotating a key restarts the service that reads it, which drops requests for a moment.

A common solution for that is to keep the old and the new key valid for an hour.

The job writes an audit entry for each rotation.
"""


def test_after_a_sentence_restating_the_problem_comes_the_sentence_that_solves_it():
    # The restated problem matches the question best; the solution after it, far less.
    ev = evidence(ROTATION, {"Rotating a key": 0.8, "A common": 0.6, "The job": 0.6})
    lead = lead_text(choose_lead([ev], asked("rotating keys drops requests, how to avoid it?")))
    assert lead.startswith("Rotating a key restarts the service")
    assert "A common solution for that is to keep the old and the new key valid" in lead
    assert "audit entry" not in lead  # a neighbour that neither goes on nor says what to do


def test_a_pointer_never_leads_and_the_unit_after_it_still_reads_on():
    text = (
        "The gateway holds pushed metrics for batch jobs. For details, see Pushing metrics. "
        "It never forgets a series until it is deleted."
    )
    ev = evidence(text, {"The gateway": 0.9, "For details": 0.95, "It never": 0.75})
    lead = lead_text(choose_lead([ev], asked("any gotchas with the gateway?")))
    assert "see Pushing" not in lead
    assert "It never forgets a series" in lead  # the next unit after the skipped pointer


LONG_HOWTO = (
    "This example logs every query to a file called `query.log`, one line per query.\n\n"
    "We assume that the data directory is writable by the server process at all times.\n\n"
    "It also keeps the log when the server restarts, and rotates it when it grows.\n\n"
    "First, adapt the configuration file:\n\n"
    "```yaml\nglobal:\n  scrape_interval: 15s\n  query_log_file: /data/query.log\n"
    + "".join(f"  option_{i}: value_{i}\n" for i in range(12))
    + "```"
)


def test_a_howto_brings_the_command_before_more_prose_and_a_long_block_whole():
    ev = evidence(LONG_HOWTO, {"This example": 0.95, "We assume": 0.9, "It also": 0.9, "```": 0.86})
    lead = lead_text(choose_lead([ev], asked("how do I log every query to a file?")))
    assert "First, adapt the configuration file: [1]\n\n```yaml" in lead
    assert "query_log_file: /data/query.log" in lead and lead.rstrip().endswith("```")
    assert lead.startswith("This example logs every query")


def test_a_howto_leads_with_the_task_not_its_testing_section():
    def section(heading: str, text: str, score: float) -> Evidence:
        ev = evidence(text, {"": 0.8}, score)
        ev.chunk = Chunk("tls.md", "TLS", f"TLS › {heading}", text)
        return ev

    testing = section("Testing", "Connect without checking certs with `curl -k`.", 0.8)
    config = section("Configuration", "Point the server at your cert in `web.yml`.", 0.78)
    lead = lead_text(choose_lead([testing, config], asked("serve the ui over https, how?")))
    assert lead == "Point the server at your cert in `web.yml`. [2]"


def test_passages_never_repeat_the_lead_and_an_emptied_passage_is_skipped():
    text = "## Remote write\n\nFailures are retried for two hours.\n\nAfter that, data is lost."
    first = evidence(text, {"Failures": 0.9, "After that": 0.85})
    second = evidence("## Tuning\n\nRaise the capacity of each shard to cut memory use.", {}, 0.75)
    picks = choose_lead([first, second], asked("is data lost when the endpoint is down?"))
    answer = compose(lead_text(picks), [first, second], picks=picks)
    assert answer.count("Failures are retried") == 1
    assert "**[1]" not in answer  # everything [1] had is in the lead
    assert "**[2] Tuning**" in answer


def test_compose_without_picks_keeps_todays_shape():
    ev = evidence("## Remote write\n\nFailures are retried for two hours.", {"Failures": 0.9})
    assert compose("Lead [1]", [ev]) == (
        "Lead [1]\n\n**[1] Remote write**  \nFailures are retried for two hours."
    )


def asked(text: str) -> Question:
    """A question as the Reader would read it, for its shape, error and comparison."""
    return Question(
        asked=text,
        text=text,
        shape=question_shape(text),
        error=pasted_error(text),
        comparison=comparison(text),
    )
