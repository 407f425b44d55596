"""String vocabularies are StrEnums, and templates compare against them: a value renamed in
one place cannot silently stop matching in another."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask, render_template_string

from webapp.incidents.states import State
from webapp.models import Status

ROOT = Path(__file__).resolve().parent.parent


def _matches(pattern: str, glob: str) -> list[str]:
    found = re.compile(pattern)
    return [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted(ROOT.glob(glob))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if found.search(line)
    ]


def test_no_field_keeps_a_vocabulary_in_a_plain_string() -> None:
    # `outcome: str  # ok | not_linked | ...` is what a StrEnum replaces
    assert _matches(r":\s*str\b[^#\n]*#[^\n]*[\w.]+ \| [\w.]+", "webapp/**/*.py") == []


# Words that are not an enum's on purpose: an alert source's kind is a key of the intake's
# TOOLS table (adding a tool is one file and one row), the list filter's status is a URL word.
OPEN_SETS = re.compile(r"\b(source\.kind|filters\.status)\b")


def test_no_template_compares_a_state_or_kind_with_a_bare_string() -> None:
    compared = r"\.(status|state|kind|platform|edition|source|channel)(\.value)?\s*[!=]=\s*[\"']"
    found = [
        hit
        for hit in _matches(compared, "templates/**/*.html")
        if not hit.startswith("templates/sandbox/") and not OPEN_SETS.search(_line(hit))
    ]
    assert found == []


def _line(hit: str) -> str:
    path, n = hit.rsplit(":", 1)
    return (ROOT / path).read_text(encoding="utf-8").splitlines()[int(n) - 1]


def test_templates_see_the_vocabularies(app: Flask) -> None:
    with app.test_request_context():
        drawn = render_template_string(
            "{{ Status.CLOSED == status }} {{ State.SNOOZED.value }}", status=Status.CLOSED
        )
    assert drawn == f"True {State.SNOOZED.value}"
