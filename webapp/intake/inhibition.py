"""Inhibition, as Alertmanager's `inhibit_rules` have it: while an alert matching the source
matchers fires, alerts matching the target matchers that carry equal values of the `equal`
labels are recorded but not paged.

Matchers are Alertmanager's text form: `name=value`, `name!=value`, `name=~regex`,
`name!~regex` (regexes anchored at both ends, as Alertmanager anchors them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*\"?(.*?)\"?\s*$")
MAX_RULES = 20
MAX_MATCHERS = 10
# Regexes run on every alert the intake reads: a short one cannot backtrack for long.
MAX_MATCHER_LENGTH = 200


class BadMatcher(ValueError):
    """A matcher this module cannot read; the message says which."""


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    def matches(self, labels: dict[str, str]) -> bool:
        have = labels.get(self.name, "")
        if self.op == "=":
            return have == self.value
        if self.op == "!=":
            return have != self.value
        found = re.fullmatch(self.value, have) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"


@dataclass(frozen=True)
class InhibitRule:
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]

    def inhibits(self, source_labels: dict[str, str], target_labels: dict[str, str]) -> bool:
        """True when an alert with `source_labels` inhibits one with `target_labels`."""
        return (
            all(m.matches(source_labels) for m in self.source)
            and all(m.matches(target_labels) for m in self.target)
            and all(source_labels.get(n) == target_labels.get(n) for n in self.equal)
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "source": [str(m) for m in self.source],
            "target": [str(m) for m in self.target],
            "equal": list(self.equal),
        }


def parse_matcher(text: str) -> Matcher:
    found = _MATCHER.match(text) if len(text) <= MAX_MATCHER_LENGTH else None
    if found is None:
        raise BadMatcher(text)
    name, op, value = found.groups()
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as error:
            raise BadMatcher(text) from error
    return Matcher(name, op, value)


def parse_rule(raw: dict[str, Any]) -> InhibitRule:
    """A rule from its stored form; BadMatcher names the first matcher it cannot read."""
    source = tuple(parse_matcher(str(t)) for t in raw.get("source") or [])
    target = tuple(parse_matcher(str(t)) for t in raw.get("target") or [])
    if not source or not target or len(source) + len(target) > MAX_MATCHERS:
        raise BadMatcher("a rule needs source and target matchers")
    equal = tuple(str(n).strip() for n in raw.get("equal") or [] if str(n).strip())
    return InhibitRule(source, target, equal)


def split_matchers(text: str) -> list[str]:
    """Matchers separated by commas, a comma inside double quotes being part of a value."""
    parts, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append(current)
            current = ""
            continue
        current += char
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def parse_line(line: str) -> InhibitRule:
    """A rule from the form's one line: `source matchers => target matchers on labels`."""
    source, arrow, rest = line.partition("=>")
    if not arrow:
        raise BadMatcher(line)
    target, _on, equal = rest.rpartition(" on ") if " on " in rest else (rest, "", "")
    return parse_rule(
        {
            "source": split_matchers(source),
            "target": split_matchers(target),
            "equal": [n.strip() for n in equal.split(",") if n.strip()],
        }
    )


def rules_of(stored: list[dict[str, Any]]) -> list[InhibitRule]:
    """The stored rules; one that no longer reads is skipped (the form refuses such rules)."""
    rules = []
    for raw in stored[:MAX_RULES]:
        try:
            rules.append(parse_rule(raw))
        except BadMatcher:
            continue
    return rules


def inhibitor(
    rules: list[InhibitRule], labels: dict[str, str], firing: list[tuple[int, dict[str, str]]]
) -> int | None:
    """The incident number of the first firing alert (number, labels) that inhibits one with
    `labels`; an alert never inhibits itself because its own labels are not in `firing`."""
    for rule in rules:
        if not all(m.matches(labels) for m in rule.target):
            continue
        for number, source_labels in firing:
            if source_labels != labels and rule.inhibits(source_labels, labels):
                return number
    return None
