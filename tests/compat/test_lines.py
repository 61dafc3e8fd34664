"""Line numbers for CI annotations, found by walking JSON text along a pointer."""

from __future__ import annotations

import json

import pytest
from hipponot_pubsub.generator.compat.lines import line_of

DOC = {
    "type": "object",
    "properties": {
        "a/b": {"type": "string", "maxLength": 5},
        "list": {"type": "array", "prefixItems": [{"type": "integer"}, {"enum": [1, "x", None, True, 2.5e3]}]},
        "esc": {"description": 'a "quoted" \u00e9 } ] , string', "minimum": -1},
    },
    "required": [],
}
TEXT = json.dumps(DOC, indent=2)
LINES = TEXT.splitlines()


@pytest.mark.parametrize(
    ("pointer", "needle"),
    [
        ("", "{"),
        ("/properties/a~1b/maxLength", '"maxLength": 5'),
        ("/properties/list/prefixItems/1/enum", '"enum": ['),
        ("/properties/esc/minimum", '"minimum": -1'),
        ("/required", '"required": []'),
        ("/properties/esc/pattern", '"esc": {'),  # missing keyword: its parent
    ],
)
def test_line_of(pointer: str, needle: str) -> None:
    line = line_of(TEXT, pointer)
    assert line is not None and needle in LINES[line - 1]


def test_compact_and_broken_text() -> None:
    assert line_of('{"a": {"b": 1}}', "/a/b") == 1
    assert line_of("{ not json", "/a") is None or line_of("{ not json", "/a") == 1
