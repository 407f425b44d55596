"""Zabbix, through the media type in contrib/zabbix/: one problem or its recovery per body,
deduplicated by `{EVENT.ID}`."""

from __future__ import annotations

import json
from typing import Any

from webapp.intake.alert import InvalidAlerts, ParsedAlert
from webapp.intake.parsers import fields
from webapp.intake.parsers.fields import CRIT, INFO, WARN
from webapp.models import AlertStatus, Severity

# Zabbix's trigger severities, lower case.
SEVERITY_WORDS: dict[str, Severity] = {
    "disaster": CRIT,
    "high": CRIT,
    "average": WARN,
    "warning": WARN,
    "information": INFO,
    "not classified": INFO,
}

EXAMPLE: dict[str, Any] = {
    "event_id": "1001",
    "event_value": "1",
    "event_name": "High CPU utilization on web-01",
    "severity": "High",
    "host": "web-01",
    "message": "CPU above 90% for 5 minutes",
}


def recognises(body: dict[str, Any]) -> bool:
    return "event_id" in body and "event_value" in body


def parse(body: Any) -> list[ParsedAlert]:
    """What contrib/zabbix/oncall_webhook.js sends for a problem or its recovery."""
    if not isinstance(body, dict):
        raise InvalidAlerts({"body": "must be a JSON object"})
    errors: dict[str, str] = {}
    event_id = fields.text(body, "event_id", errors, 64)
    if not event_id.isdigit():
        errors["event_id"] = "required: Zabbix's {EVENT.ID}, a number"
    value = fields.text(body, "event_value", errors, 8)
    status = {"1": AlertStatus.FIRING, "0": AlertStatus.RESOLVED}.get(value)
    if status is None:
        errors["event_value"] = "one of 1 (problem), 0 (recovery): Zabbix's {EVENT.VALUE}"
    title = fields.text(body, "event_name", errors)
    if not title:
        errors["event_name"] = "required: Zabbix's {EVENT.NAME}"
    level = fields.severity(body.get("severity", ""), SEVERITY_WORDS, "severity", errors)
    labels = _labels(body, errors)
    annotations = {"event_id": event_id}
    if opdata := fields.text(body, "opdata", errors, 2000):
        annotations["opdata"] = opdata
    if link := fields.url(body.get("url")):
        annotations["zabbixURL"] = link
    if errors or status is None or level is None:
        raise InvalidAlerts(errors)
    alert = ParsedAlert(
        title=title,
        description=fields.text(body, "message", errors, 20_000),
        severity=level,
        status=status,
        dedup_key=f"zabbix:{event_id}",
        labels=labels,
        annotations=annotations,
    )
    if errors:  # the message field, read last
        raise InvalidAlerts(errors)
    return [alert]


def _labels(body: dict[str, Any], errors: dict[str, str]) -> dict[str, str]:
    """The host, the trigger id and the event's tags."""
    labels: dict[str, str] = {}
    for key in ("host", "trigger_id"):
        if found := fields.text(body, key, errors, 255):
            labels[key] = found
    tags = body.get("tags", [])
    if isinstance(tags, str):  # {EVENT.TAGSJSON} arrives as text when not parsed
        try:
            tags = json.loads(tags) if tags.strip() else []
        except ValueError:
            tags = None
    if not isinstance(tags, list):
        errors["tags"] = 'must be Zabbix\'s {EVENT.TAGSJSON}: [{"tag": ..., "value": ...}]'
        return labels
    for tag in tags[:50]:
        if isinstance(tag, dict) and isinstance(tag.get("tag"), str):
            labels[tag["tag"][:255]] = str(tag.get("value", ""))[:4000]
    return labels
