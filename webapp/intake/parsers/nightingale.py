"""Nightingale v6/v7: its AlertCurEvent, as the callback (webhook) notification posts it,
deduplicated by the event `hash`; tags become labels."""

from __future__ import annotations

from typing import Any

from webapp.intake.alert import InvalidAlerts, ParsedAlert
from webapp.intake.parsers import fields
from webapp.intake.parsers.fields import CRIT, INFO, WARN
from webapp.models import AlertStatus, Severity

SEVERITY_WORDS: dict[str, Severity] = {"1": CRIT, "2": WARN, "3": INFO}

EXAMPLE: dict[str, Any] = {
    "hash": "oncall-test-4",
    "rule_name": "Disk usage above 90%",
    "severity": 2,
    "is_recovered": False,
    "tags": ["ident=db-01", "service=mysql"],
    "trigger_value": "93.1",
}


def recognises(body: dict[str, Any]) -> bool:
    return "rule_name" in body and "hash" in body


def parse(body: Any) -> list[ParsedAlert]:
    if not isinstance(body, dict):
        raise InvalidAlerts({"body": "must be a JSON object"})
    errors: dict[str, str] = {}
    event_hash = fields.text(body, "hash", errors, 200)
    if not event_hash:
        errors["hash"] = "required: the event hash"
    title = fields.text(body, "rule_name", errors)
    if not title:
        errors["rule_name"] = "required: a non-empty string"
    level = fields.severity(body.get("severity"), SEVERITY_WORDS, "severity", errors)
    recovered = body.get("is_recovered", False)
    if not isinstance(recovered, bool):
        errors["is_recovered"] = "must be true or false"
    labels = _labels(body, errors)
    annotations: dict[str, str] = {}
    for key in ("rule_note", "trigger_value"):
        if found := fields.text(body, key, errors, 2000):
            annotations[key] = found
    if errors or level is None:
        raise InvalidAlerts(errors)
    return [
        ParsedAlert(
            title=title,
            description=annotations.get("rule_note", ""),
            severity=level,
            status=AlertStatus.RESOLVED if recovered else AlertStatus.FIRING,
            dedup_key=f"n9e:{event_hash}",
            labels=labels,
            annotations=annotations,
        )
    ]


def _labels(body: dict[str, Any], errors: dict[str, str]) -> dict[str, str]:
    """Tags ("key=value") as labels, and the target's ident."""
    labels: dict[str, str] = {}
    tags = body.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        errors["tags"] = 'must be a list of "key=value" strings'
    else:
        for tag in tags[:50]:
            key, _, value = tag.partition("=")
            labels[key[:255]] = value[:4000]
    if ident := fields.text(body, "target_ident", errors, 255):
        labels.setdefault("ident", ident)
    return labels
