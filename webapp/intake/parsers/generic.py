"""Our own JSON alert: `{"title", "severity", "status", "labels", "dedup_key", "description",
"starts_at"}`, one alert per body."""

from __future__ import annotations

from typing import Any

from webapp.intake.alert import InvalidAlerts, ParsedAlert
from webapp.intake.parsers import fields

EXAMPLE: dict[str, Any] = {
    "title": "Disk almost full on db-01",
    "severity": "critical",
    "labels": {"host": "db-01"},
}


def parse(body: Any) -> list[ParsedAlert]:
    if not isinstance(body, dict):
        raise InvalidAlerts({"body": "must be a JSON object"})
    errors: dict[str, str] = {}
    alert = _parse(body, errors)
    if errors or alert is None:
        raise InvalidAlerts(errors)
    return [alert]


def _parse(body: dict[str, Any], errors: dict[str, str]) -> ParsedAlert | None:
    title = body.get("title")
    if not isinstance(title, str) or not title.strip():
        errors["title"] = "required: a non-empty string"
    elif len(title) > 500:
        errors["title"] = "at most 500 characters"
    description = fields.optional_str(body, "description", "", errors, 20_000)
    severity = fields.severity(
        body.get("severity", "Warning"), fields.SEVERITY_WORDS, "severity", errors
    )
    status = fields.status(body.get("status", "firing"), "status", errors)
    labels = fields.str_map(body.get("labels", {}), "labels", errors)
    dedup = body.get("dedup_key")
    if dedup is not None and (not isinstance(dedup, str) or not dedup or len(dedup) > 255):
        errors["dedup_key"] = "a non-empty string of at most 255 characters"
        dedup = None
    starts_at = fields.time(body.get("starts_at"), "starts_at", errors)
    if errors or not isinstance(title, str) or severity is None or status is None:
        return None
    return ParsedAlert(
        title=title.strip(),
        description=description,
        severity=severity,
        status=status,
        labels=labels,
        dedup_key=dedup or fields.fingerprint({"title": title.strip(), **labels}),
        starts_at=starts_at,
    )
