"""Editing a channel's noise rules: the form's text in, checked, stored as `NoiseRules`.

Every field is checked before anything is stored; `NoiseInvalid.errors` names each bad field
in words an admin can act on. Inhibition rules are written one per line:
`alertname="NodeDown" => severity="warning" on cluster, service`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from webapp.extensions import db
from webapp.intake import grouping, inhibition, storms_input
from webapp.intake.inhibition import BadMatcher
from webapp.intake.rules import stored
from webapp.models import Channel, NoiseRules

LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LIMITS = {
    "flap_changes": (2, 100),
    "flap_minutes": (1, 24 * 60),
    "flap_mute_minutes": (1, 7 * 24 * 60),
    "window_minutes": (grouping.MIN_WINDOW_MINUTES, grouping.MAX_WINDOW_MINUTES),
}


@dataclass
class NoiseInput:
    """The form as typed: text, so a refused form shows back exactly what was entered."""

    group_labels: str = ""
    window_minutes: str = "30"
    group_missing: bool = False
    close_when_recovered: bool = True
    storm_thresholds: str = ""
    inhibitions: str = ""
    flap_enabled: bool = True
    flap_changes: str = "4"
    flap_minutes: str = "60"
    flap_mute_minutes: str = "120"


class NoiseInvalid(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("invalid noise rules")
        self.errors = errors


def input_of(channel: Channel) -> NoiseInput:
    row = stored(channel.id)
    if row is None:
        return NoiseInput()
    return NoiseInput(
        group_labels=", ".join(row.group_by or []),
        window_minutes=str(row.group_window_minutes),
        group_missing=row.group_missing,
        close_when_recovered=row.close_when_recovered,
        storm_thresholds=", ".join(str(t) for t in row.storm_thresholds or []),
        inhibitions="\n".join(rule_line(r) for r in row.inhibitions or []),
        flap_enabled=row.flap_enabled,
        flap_changes=str(row.flap_changes),
        flap_minutes=str(row.flap_minutes),
        flap_mute_minutes=str(row.flap_mute_minutes),
    )


def checked(data: NoiseInput) -> dict[str, Any]:
    """The values to store; NoiseInvalid names every field that is wrong."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "group_by": _labels(data.group_labels, errors),
        "group_missing": data.group_missing,
        "close_when_recovered": data.close_when_recovered,
        "storm_thresholds": storms_input.thresholds(data.storm_thresholds, errors),
        "inhibitions": _inhibitions(data.inhibitions, errors),
        "flap_enabled": data.flap_enabled,
    }
    values["group_window_minutes"] = _number(data.window_minutes, "window_minutes", errors)
    for name in ("flap_changes", "flap_minutes", "flap_mute_minutes"):
        values[name] = _number(getattr(data, name), name, errors)
    if errors:
        raise NoiseInvalid(errors)
    return values


def save(channel: Channel, data: NoiseInput) -> NoiseRules:
    values = checked(data)
    row = stored(channel.id) or NoiseRules(channel_id=channel.id)
    for name, value in values.items():
        setattr(row, name, value)
    db.session.add(row)
    db.session.commit()
    return row


def rule_line(raw: dict[str, Any]) -> str:
    """A stored inhibition rule as the one line the form shows."""
    line = ", ".join(raw.get("source") or []) + " => " + ", ".join(raw.get("target") or [])
    if raw.get("equal"):
        line += " on " + ", ".join(raw["equal"])
    return line


def _labels(text: str, errors: dict[str, str]) -> list[str]:
    names = [n.strip() for n in text.replace("\n", ",").split(",") if n.strip()]
    if len(names) > grouping.MAX_LABELS:
        errors["group_labels"] = _("Group by at most %(n)s labels.", n=grouping.MAX_LABELS)
    elif bad := [n for n in names if not LABEL_NAME.match(n)]:
        errors["group_labels"] = _("Not a label name: %(names)s", names=", ".join(bad[:3]))
    return list(dict.fromkeys(names))


def _number(text: str, name: str, errors: dict[str, str]) -> int:
    low, high = LIMITS[name]
    try:
        value = int(text.strip())
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        errors[name] = _("A whole number from %(low)s to %(high)s.", low=low, high=high)
    return value


def _inhibitions(text: str, errors: dict[str, str]) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > inhibition.MAX_RULES:
        errors["inhibitions"] = _("At most %(n)s rules.", n=inhibition.MAX_RULES)
        return []
    for number, line in enumerate(lines, 1):
        try:
            rules.append(inhibition.parse_line(line).as_json())
        except BadMatcher:
            errors["inhibitions"] = _(
                'Line %(n)s does not read. Write it as: alertname="NodeDown" => '
                'severity="warning" on cluster',
                n=number,
            )
            return []
    return rules
