"""Prometheus Alertmanager's webhook (version 4): many alerts per body, deduplicated by
`fingerprint` and `startsAt`. Grafana posts the same shape with extras (`grafana.py`),
which are read here too, whichever intake the body reaches."""

from __future__ import annotations

from typing import Any

from webapp.intake.alert import InvalidAlerts, ParsedAlert
from webapp.intake.parsers import fields, grafana

EXAMPLE: dict[str, Any] = {
    "version": "4",
    "status": "firing",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "DiskFull", "severity": "critical", "instance": "db-01"},
            "annotations": {"summary": "Disk almost full on db-01"},
            "startsAt": "2026-06-15T02:00:00Z",
            "fingerprint": "oncall-test-1",
        }
    ],
}


def recognises(body: dict[str, Any]) -> bool:
    return "alerts" in body


def parse(body: Any) -> list[ParsedAlert]:
    if not isinstance(body, dict):
        raise InvalidAlerts({"body": "must be a JSON object"})
    errors: dict[str, str] = {}
    alerts = body.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise InvalidAlerts({"alerts": "must be a non-empty list"})
    if len(alerts) > fields.MAX_ALERTS:
        raise InvalidAlerts({"alerts": f"at most {fields.MAX_ALERTS} alerts per request"})
    common_raw = body.get("commonLabels")
    common: dict[str, Any] = common_raw if isinstance(common_raw, dict) else {}
    parsed: list[ParsedAlert] = []
    for i, raw in enumerate(alerts):
        if not isinstance(raw, dict):
            errors[f"alerts[{i}]"] = "must be an object"
            continue
        if alert := _parse_alert(raw, f"alerts[{i}].", common, errors):
            parsed.append(alert)
    if errors:
        raise InvalidAlerts(errors)
    return parsed


def _parse_alert(
    raw: dict[str, Any], prefix: str, common: dict[str, Any], errors: dict[str, str]
) -> ParsedAlert | None:
    labels = fields.str_map(raw.get("labels"), prefix + "labels", errors, required=True)
    annotations = fields.str_map(raw.get("annotations", {}), prefix + "annotations", errors)
    annotations.update(grafana.extras(raw))  # Grafana's links and values
    status = fields.status(raw.get("status"), prefix + "status", errors)
    starts_at = fields.time(raw.get("startsAt"), prefix + "startsAt", errors, required=True)
    ends_at = fields.time(raw.get("endsAt"), prefix + "endsAt", errors)
    title = annotations.get("summary") or labels.get("alertname") or common.get("alertname")
    if not title and prefix + "labels" not in errors:
        errors[prefix + "labels.alertname"] = "required when annotations.summary is missing"
    severity = fields.severity(
        labels.get("severity", "warning"), fields.SEVERITY_WORDS, prefix + "labels.severity", errors
    )
    fingerprint = raw.get("fingerprint")
    if fingerprint is not None and (not isinstance(fingerprint, str) or not fingerprint):
        errors[prefix + "fingerprint"] = "must be a non-empty string"
    if any(key.startswith(prefix) for key in errors):
        return None
    assert title and severity and status  # narrowed by the checks above
    return ParsedAlert(
        title=str(title)[:500],
        description=annotations.get("description", ""),
        severity=severity,
        status=status,
        labels=labels,
        annotations=annotations,
        dedup_key=fingerprint or fields.fingerprint(labels),
        starts_at=starts_at,
        # Alertmanager sends the zero time for alerts still firing.
        ends_at=ends_at if ends_at and ends_at.year > 1 else None,
    )
