"""The kind of answer a question asks for: one table of rows per kind, positives and negatives."""

from __future__ import annotations

import pytest

from bot.engine.shape import (
    aside_heading,
    pasted_error,
    points_elsewhere,
    question_shape,
    refers_back,
    states_fix,
)

HOWTO = [
    ("how do I rotate the signing key without downtime?", True),
    ("How can we roll back a release", True),
    ("how to mount a volume read-only", True),
    ("what's the flag to skip the cache?", True),
    ("which setting controls the retry limit", True),
    ("set up nightly backups for the database", True),
    ("Configure the proxy to forward headers", True),
    ("need the dashboard served over tls, how?", True),
    ("the cache is stale. what do I need to change?", True),
    ("what is a service mesh?", False),
    ("why does the build take so long?", False),
    ("is the queue durable?", False),
    ("what does the --dry-run flag do", False),
]
ERROR = [
    ("getting `connection refused` when the agent starts", True),
    ("deploy dies with 'context deadline exceeded', any idea?", True),
    ('pod logs say "panic: runtime error: index out of range"', True),
    ("Error: failed to pull image\nwhat now?", True),
    ("2024-05-01T10:00:00Z level=error msg=oops", True),
    ("keep getting out-of-memory errors on the worker. fix?", True),
    ("how do I add an error budget alert?", False),
    ("is it fine to average per-instance error ratios?", False),
    ("what is an error budget", False),
]
DEFINITION = [
    ("what is a sidecar?", True),
    ("What are init containers", True),
    ("what's an SLO", True),
    ("what does idempotent mean", True),
    ("what does the --dry-run flag do", True),
    ("what's the command to list volumes", False),
    ("is a sidecar required?", False),
    ("why is a sidecar needed?", False),
]
WHY = [
    ("why does the scheduler skip my job?", True),
    ("How come the cache never expires", True),
    ("we pinned the version. why would it still upgrade?", True),
    ("how do I stop the upgrade?", False),
    ("what is the scheduler?", False),
]
YESNO = [
    ("is the backup encrypted at rest?", True),
    ("can I run two replicas of the controller", True),
    ("should we page on high cpu?", True),
    ("does the agent support proxies?", True),
    ("Are labels indexed?", True),
    ("how do I encrypt the backup?", False),
    ("what is encryption at rest?", False),
    ("the backup job, is it encrypted?", True),
]


@pytest.mark.parametrize(("shape", "rows"), [
    ("howto", HOWTO), ("error", ERROR), ("definition", DEFINITION), ("why", WHY), ("yesno", YESNO),
])  # fmt: skip
def test_each_kind_by_its_table(shape, rows):
    wrong = [
        (q, question_shape(q)) for q, expected in rows if (question_shape(q) == shape) != expected
    ]
    assert not wrong


def test_other_questions_fall_back_to_other():
    assert question_shape("pushgateway gotchas") == "other"
    assert question_shape("") == "other"


def test_pasted_error_is_the_quoted_or_logged_text_only():
    assert pasted_error("pull dies with '[Errno 24] Too many open files'. fix?") == (
        "[Errno 24] Too many open files"
    )
    assert pasted_error("what does `kubectl get pods` print?") == ""  # quoted, but no failure
    assert "level=error" in pasted_error("seeing this:\nts=1 level=error msg=boom")
    assert pasted_error("keep getting errors, fix?") == ""  # no pasted text, only the word


POINTERS = [
    ("For details, see Pushing metrics.", True),
    ("See the scrape configuration documentation for more information.", True),
    ("Refer to the upgrade guide.", True),
    ("**For more information**, read the API reference.", True),
    ("See how the relabelling works: the `instance` label is set from the address.", False),
    ("Seeing gaps after a restart is expected, since the WAL is replayed first.", False),
    ("The hook runs before the sync; see below for the policy that keeps it around longer.", False),
]
BACK_REFERENCES = [
    ("The second is to have a `myexporter_up` variable.", True),
    ("This is much more suitable to event logging.", True),
    ("It is disabled by default.", True),
    ("However, the flag is ignored in agent mode.", True),
    ("Such a job's metrics should not include an instance label.", True),
    ("The exporter returns a 5xx error.", False),
    ("Thisbe is a host name.", False),
    ("Items are flushed every minute.", False),
]

FIXES = [
    ("A common solution for that is to keep two versions of the secret.", True),
    ("To fix it, raise the open file limit.", True),
    ("Use a workaround: pin the chart version.", True),
    ("The secret rotation might restart the application.", False),
    ("Pods are scheduled on nodes with free memory.", False),
]


ASIDES = [
    ("Testing", True),
    ("Pre-requisites", True),
    ("**Summary**", True),
    ("Next steps", True),
    ("Testing alerts with amtool", False),  # the task itself
    ("Configuring TLS", False),
    ("Requirements for the exporter's metric names", False),
]


@pytest.mark.parametrize(("check", "rows"), [
    (points_elsewhere, POINTERS), (refers_back, BACK_REFERENCES), (aside_heading, ASIDES),
    (states_fix, FIXES),
])  # fmt: skip
def test_what_a_docs_sentence_does_by_its_table(check, rows):
    assert [text for text, expected in rows if check(text) != expected] == []
