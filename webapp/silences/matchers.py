"""Alertmanager's matchers: `=`, `!=`, `=~`, `!~` over label values, all must match.

A regular expression is anchored at both ends, as Alertmanager anchors it (`^(?:re)$`), and
a label an alert does not have reads as the empty string. Besides its own labels, an alert
offers `oncall_severity` (Critical, Warning, Info), `oncall_source` (the alert source's name)
and `oncall_dedup_key`, so a silence can also name what our intake decided.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# Prometheus label names; values are any text.
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
MAX_VALUE = 1000
MAX_MATCHERS = 32
# amtool's filter and command-line matchers: name, operator, value (quoted or bare).
_TEXT = re.compile(r"^\s*\{?\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*\}?\s*$", re.S)
# Regular expressions that match any value: a silence made only of these silences everything.
MATCH_ANYTHING = frozenset({".*", ".+", "(.*)", "(.+)", ".*.*"})


class MatcherInvalid(ValueError):
    """A matcher that Alertmanager would refuse; the message says which and why."""


@dataclass(frozen=True)
class Matcher:
    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    @property
    def operator(self) -> str:
        return {(False, True): "=", (False, False): "!=", (True, True): "=~"}.get(
            (self.is_regex, self.is_equal), "!~"
        )

    def matches(self, labels: Mapping[str, str]) -> bool:
        got = labels.get(self.name, "")
        hit = _pattern(self.value).match(got) is not None if self.is_regex else got == self.value
        return hit == self.is_equal

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "isRegex": self.is_regex,
            "isEqual": self.is_equal,
        }

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.operator}"{escaped}"'


@lru_cache(maxsize=1024)
def _pattern(value: str) -> re.Pattern[str]:
    return re.compile(f"^(?:{value})$", re.S)


def from_json(raw: Any, where: str = "matcher") -> Matcher:
    """One matcher of Alertmanager's JSON (`isEqual` defaults to true, as the spec says)."""
    if not isinstance(raw, dict):
        raise MatcherInvalid(f"{where}: must be an object with name, value and isRegex")
    name, value = raw.get("name"), raw.get("value")
    is_regex, is_equal = raw.get("isRegex"), raw.get("isEqual", True)
    if not isinstance(name, str) or not isinstance(value, str):
        raise MatcherInvalid(f"{where}: name and value must be strings")
    if not isinstance(is_regex, bool) or not isinstance(is_equal, bool):
        raise MatcherInvalid(f"{where}: isRegex (required) and isEqual must be true or false")
    return checked(Matcher(name, value, is_regex, is_equal), where)


def checked(matcher: Matcher, where: str = "matcher") -> Matcher:
    if not LABEL_NAME.match(matcher.name):
        raise MatcherInvalid(f"{where}: invalid label name {matcher.name[:60]!r}")
    if len(matcher.value) > MAX_VALUE:
        raise MatcherInvalid(f"{where}: the value is longer than {MAX_VALUE} characters")
    if matcher.is_regex:
        try:
            _pattern(matcher.value)
        except re.error as exc:
            raise MatcherInvalid(f"{where}: invalid regular expression: {exc}") from None
    return matcher


def parse(text: str) -> Matcher:
    """`alertname="DiskFull"`, `env!=prod`, `job=~"node.*"`: a matcher as amtool writes it."""
    found = _TEXT.match(text)
    if found is None:
        raise MatcherInvalid(f"bad matcher {text[:80]!r}: write name=value, !=, =~ or !~")
    name, operator, value = found.groups()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = _unquote(value[1:-1])
    return checked(Matcher(name, value, "~" in operator, operator[0] == "="), text[:80])


def _unquote(value: str) -> str:
    out: list[str] = []
    chars = iter(value)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            out.append("\n" if nxt == "n" else nxt)
        else:
            out.append(ch)
    return "".join(out)


def load(stored: Iterable[Mapping[str, Any]]) -> list[Matcher]:
    """Matchers as a silence row keeps them (already checked when they were saved)."""
    return [
        Matcher(str(m["name"]), str(m["value"]), bool(m["isRegex"]), bool(m.get("isEqual", True)))
        for m in stored
    ]


def all_match(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


def check_set(matchers: list[Matcher]) -> list[Matcher]:
    """A silence's matchers, as Alertmanager validates them: at least one, at most
    MAX_MATCHERS, and one at least that does not match the empty string (otherwise every
    alert without that label would be silenced)."""
    if not matchers:
        raise MatcherInvalid("matchers: at least one matcher is needed")
    if len(matchers) > MAX_MATCHERS:
        raise MatcherInvalid(f"matchers: at most {MAX_MATCHERS}")
    if all(m.matches({}) for m in matchers):
        raise MatcherInvalid("matchers: at least one matcher must not match the empty string")
    return matchers


def matches_everything(matchers: Iterable[Matcher]) -> bool:
    """Only catch-all regular expressions and negations: practically every alert."""
    return all(
        (m.is_regex and m.is_equal and m.value in MATCH_ANYTHING) or not m.is_equal
        for m in matchers
    )
