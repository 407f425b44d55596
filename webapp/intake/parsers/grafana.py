"""Grafana's webhook contact point: Alertmanager's webhook shape (parsed by
`alertmanager.py`) plus, on each alert, links and the evaluated `values`, kept here as
annotations."""

from __future__ import annotations

from typing import Any

from webapp.intake.alert import InvalidAlerts
from webapp.intake.parsers import fields

# Links a tool sends with an alert, kept in its annotations under these keys.
LINK_KEYS = ("dashboardURL", "panelURL", "silenceURL", "generatorURL", "zabbixURL")

EXAMPLE: dict[str, Any] = {
    "receiver": "OnCall",
    "status": "firing",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "High memory usage", "severity": "warning"},
            "annotations": {"summary": "Memory above 90% on web-01"},
            "startsAt": "2026-06-15T02:00:00Z",
            "fingerprint": "oncall-test-2",
            "values": {"B": 93.5},
        }
    ],
}


def require_webhook(body: Any) -> None:
    """A Grafana intake reads only the webhook body (an `alerts` list)."""
    if not (isinstance(body, dict) and "alerts" in body):
        raise InvalidAlerts({"alerts": "must be a non-empty list (Grafana's webhook body)"})


def extras(raw: dict[str, Any]) -> dict[str, str]:
    """Grafana's additions to an Alertmanager alert: links and the evaluated `values`."""
    found = {key: link for key in LINK_KEYS if (link := fields.url(raw.get(key)))}
    values = raw.get("values")
    if isinstance(values, dict) and values:
        found["values"] = ", ".join(f"{k}={_number(v)}" for k, v in sorted(values.items()))[:2000]
    return found


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
