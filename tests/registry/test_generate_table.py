"""The ``[generate]`` table is part of pubsub.toml: lint accepts a good one and names a bad one's pointer."""

from __future__ import annotations

import pytest
from hipponot_pubsub.generator.registry.config import read_config

BASE = '[registry]\nname = "r"\n'


@pytest.mark.parametrize(
    ("table", "pointer", "message"),
    [
        ('[generate]\nout = "../pkg"\npackage = "my-app"\n', "/generate/package", "not a dotted Python import name"),
        ('[generate]\npackages = "a"\n', "/generate/packages", "unknown key (known: out, package)"),
        ('[generate]\nout = 3\n', "/generate/out", "must be a non-empty string"),
        ('generate = "x"\n', "/generate", "must be a table"),
    ],
)
def test_a_bad_table_is_a_problem_with_its_pointer(table: str, pointer: str, message: str) -> None:
    _, problems = read_config(table + BASE, "pubsub.toml")  # top-level keys first
    assert [(p.file, p.pointer, p.code) for p in problems] == [("pubsub.toml", pointer, "invalid-config")]
    assert message in problems[0].message


def test_a_good_table_is_no_problem() -> None:
    _, problems = read_config(BASE + '[generate]\nout = "../src/myapp/events"\npackage = "myapp.events"\n',
                              "pubsub.toml")
    assert problems == []
