"""Every document a comment or docstring cites is in the repository, down to the heading:
a newcomer can follow each citation (docs/lark/ holds the Lark facts the code relies on)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CITED = re.compile(r"(?<![\w/.-])((?:\.\./)*[\w./-]*[\w-]+\.md)(#[\w-]+)?")
SOURCES = sorted(
    [*ROOT.glob("webapp/**/*.py"), *ROOT.glob("tests/*.py"), *ROOT.glob("templates/**/*.html")]
)


def slug(heading: str) -> str:
    """A Markdown heading's anchor, as GitHub writes it."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(doc: Path) -> set[str]:
    lines = doc.read_text(encoding="utf-8").splitlines()
    return {slug(line.lstrip("#")) for line in lines if line.startswith("#")}


def citations() -> list[tuple[str, str, str | None]]:
    found = []
    for source in SOURCES:
        for match in CITED.finditer(source.read_text(encoding="utf-8")):
            anchor = match.group(2)[1:] if match.group(2) else None
            found.append((str(source.relative_to(ROOT)), match.group(1), anchor))
    return found


def test_the_code_cites_the_lark_notes_in_the_repository() -> None:
    cited = {(doc, anchor) for _, doc, anchor in citations() if doc.startswith("docs/lark/")}
    assert ("docs/lark/callbacks.md", "signatures") in cited
    assert ("docs/lark/open-api.md", "monthly-quota") in cited


@pytest.mark.parametrize(("source", "doc", "anchor"), citations())
def test_every_cited_document_and_heading_exists(source: str, doc: str, anchor: str | None) -> None:
    path = (ROOT / doc).resolve()
    assert path.is_relative_to(ROOT), f"{source} cites {doc}, outside the repository"
    assert path.is_file(), f"{source} cites {doc}, which is not in the repository"
    if anchor is not None:
        assert anchor in anchors(path), f"{source} cites {doc}#{anchor}: no such heading"


def test_the_lark_notes_give_a_source_for_each_section() -> None:
    for doc in (ROOT / "docs/lark").glob("*.md"):
        if doc.name == "README.md":
            continue
        sections = doc.read_text(encoding="utf-8").split("\n## ")[1:]
        for section in sections:
            title = section.splitlines()[0]
            assert "https://" in section or "lark_oapi/" in section, (
                f"{doc.name}: section {title} names no source"
            )
