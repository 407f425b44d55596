"""The monitoring tools our users run, and their own words for severity.

One table maps every source's severity vocabulary to ours; an unknown word is refused with
the words that source accepts. Grafana's webhook is Alertmanager-shaped (webapp/incidents/alerts.py
parses it) and adds `values` and links, kept here as annotations. Zabbix (through the
media type in contrib/zabbix/) and Nightingale v6/v7 (callback) have shapes of their own.
"""

from __future__ import annotations

import json
from typing import Any

from webapp.incidents import alerts
from webapp.incidents.alerts import InvalidAlerts
from webapp.models import AlertStatus, Severity

CRIT, WARN, INFO = Severity.CRITICAL, Severity.WARNING, Severity.INFO

# Each source's vocabulary, lower case. "generic" (our JSON, Alertmanager and Grafana
# labels) takes every word any source uses.
SEVERITY_WORDS: dict[str, dict[str, Severity]] = {
    "zabbix": {
        "disaster": CRIT,
        "high": CRIT,
        "average": WARN,
        "warning": WARN,
        "information": INFO,
        "not classified": INFO,
    },
    "nightingale": {"1": CRIT, "2": WARN, "3": INFO},
    "generic": {
        "critical": CRIT,
        "crit": CRIT,
        "error": CRIT,
        "high": CRIT,
        "disaster": CRIT,
        "p0": CRIT,
        "p1": CRIT,
        "s1": CRIT,
        "严重": CRIT,
        "warning": WARN,
        "warn": WARN,
        "average": WARN,
        "p2": WARN,
        "s2": WARN,
        "警告": WARN,
        "info": INFO,
        "information": INFO,
        "informational": INFO,
        "not classified": INFO,
        "none": INFO,
        "p3": INFO,
        "p4": INFO,
        "s3": INFO,
        "提醒": INFO,
    },
}

# The kinds of intake an admin can pick, in the order shown. "generic" reads our JSON and
# every shape below it recognises; the others read only their tool's shape.
KINDS: dict[str, str] = {
    "alertmanager": "Alertmanager",
    "grafana": "Grafana",
    "zabbix": "Zabbix",
    "nightingale": "Nightingale",
    "generic": "Generic JSON",
}

# Links a source sends with an alert, kept in its annotations under these keys.
LINK_KEYS = ("dashboardURL", "panelURL", "silenceURL", "generatorURL", "zabbixURL")
# Shown values: Grafana's `values`, Nightingale's trigger value and rule note.
VALUE_KEYS = ("values", "trigger_value", "rule_note", "opdata")


def severity(value: Any, source: str, name: str, errors: dict[str, str]) -> Severity | None:
    """Our severity for a source's word; else an error naming the words it accepts."""
    words = SEVERITY_WORDS[source]
    word = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if word is not None and word in words:
        return words[word]
    errors[name] = "one of " + ", ".join(words)
    return None


def links(annotations: dict[str, str]) -> list[tuple[str, str]]:
    """The (key, url) links of an alert, in a fixed order."""
    return [(key, annotations[key]) for key in LINK_KEYS if annotations.get(key)]


def shown_values(annotations: dict[str, str]) -> list[tuple[str, str]]:
    return [(key, annotations[key]) for key in VALUE_KEYS if annotations.get(key)]


def _url(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) < 2000:
        return value
    return None


def grafana_extras(raw: dict[str, Any]) -> dict[str, str]:
    """Grafana's additions to an Alertmanager alert: links and the evaluated `values`."""
    extras = {key: url for key in LINK_KEYS if (url := _url(raw.get(key)))}
    values = raw.get("values")
    if isinstance(values, dict) and values:
        extras["values"] = ", ".join(f"{k}={_number(v)}" for k, v in sorted(values.items()))[:2000]
    return extras


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def detect(body: dict[str, Any]) -> str | None:
    """Which tool sent a body, when its shape says so."""
    if "rule_name" in body and "hash" in body:
        return "nightingale"
    if "event_id" in body and "event_value" in body:
        return "zabbix"
    return None


def parse_for(kind: str, body: Any) -> list[Any]:
    """Read a body as the source's kind says; generic and Alertmanager read any known shape."""
    if kind in ("zabbix", "nightingale"):
        if not isinstance(body, dict):
            raise alerts.InvalidAlerts({"body": "must be a JSON object"})
        return parse(body, kind)
    if kind == "grafana" and not (isinstance(body, dict) and "alerts" in body):
        raise alerts.InvalidAlerts({"alerts": "must be a non-empty list (Grafana's webhook body)"})
    return alerts.parse(body)


def parse(body: dict[str, Any], source: str) -> list[Any]:

    errors: dict[str, str] = {}
    parsed = _parse_zabbix(body, errors) if source == "zabbix" else _parse_nightingale(body, errors)
    if errors or parsed is None:
        raise InvalidAlerts(errors)
    return [parsed]


def _text(body: dict[str, Any], name: str, errors: dict[str, str], limit: int = 500) -> str:
    value = body.get(name, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        errors[name] = "must be a string"
        return ""
    return value.strip()[:limit]


def _parse_zabbix(body: dict[str, Any], errors: dict[str, str]) -> Any:
    """What contrib/zabbix/oncall_webhook.js sends for a problem or its recovery."""
    from webapp.incidents.alerts import ParsedAlert

    event_id = _text(body, "event_id", errors, 64)
    if not event_id.isdigit():
        errors["event_id"] = "required: Zabbix's {EVENT.ID}, a number"
    value = _text(body, "event_value", errors, 8)
    status = {"1": AlertStatus.FIRING, "0": AlertStatus.RESOLVED}.get(value)
    if status is None:
        errors["event_value"] = "one of 1 (problem), 0 (recovery): Zabbix's {EVENT.VALUE}"
    title = _text(body, "event_name", errors)
    if not title:
        errors["event_name"] = "required: Zabbix's {EVENT.NAME}"
    level = severity(body.get("severity", ""), "zabbix", "severity", errors)
    labels: dict[str, str] = {}
    for key in ("host", "trigger_id"):
        if text := _text(body, key, errors, 255):
            labels[key] = text
    tags = body.get("tags", [])
    if isinstance(tags, str):  # {EVENT.TAGSJSON} arrives as text when not parsed
        try:
            tags = json.loads(tags) if tags.strip() else []
        except ValueError:
            tags = None
    if not isinstance(tags, list):
        errors["tags"] = 'must be Zabbix\'s {EVENT.TAGSJSON}: [{"tag": ..., "value": ...}]'
    else:
        for tag in tags[:50]:
            if isinstance(tag, dict) and isinstance(tag.get("tag"), str):
                labels[tag["tag"][:255]] = str(tag.get("value", ""))[:4000]
    annotations = {"event_id": event_id}
    if opdata := _text(body, "opdata", errors, 2000):
        annotations["opdata"] = opdata
    if url := _url(body.get("url")):
        annotations["zabbixURL"] = url
    if errors or status is None or level is None:
        return None
    return ParsedAlert(
        title=title,
        description=_text(body, "message", errors, 20_000),
        severity=level,
        status=status,
        dedup_key=f"zabbix:{event_id}",
        labels=labels,
        annotations=annotations,
    )


def _parse_nightingale(body: dict[str, Any], errors: dict[str, str]) -> Any:
    """Nightingale v6/v7 AlertCurEvent, as its callback (webhook) notification posts it."""
    from webapp.incidents.alerts import ParsedAlert

    event_hash = _text(body, "hash", errors, 200)
    if not event_hash:
        errors["hash"] = "required: the event hash"
    title = _text(body, "rule_name", errors)
    if not title:
        errors["rule_name"] = "required: a non-empty string"
    level = severity(body.get("severity"), "nightingale", "severity", errors)
    recovered = body.get("is_recovered", False)
    if not isinstance(recovered, bool):
        errors["is_recovered"] = "must be true or false"
    labels: dict[str, str] = {}
    tags = body.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        errors["tags"] = 'must be a list of "key=value" strings'
    else:
        for tag in tags[:50]:
            key, _, value = tag.partition("=")
            labels[key[:255]] = value[:4000]
    if ident := _text(body, "target_ident", errors, 255):
        labels.setdefault("ident", ident)
    annotations: dict[str, str] = {}
    for key in ("rule_note", "trigger_value"):
        if text := _text(body, key, errors, 2000):
            annotations[key] = text
    if errors or level is None:
        return None
    return ParsedAlert(
        title=title,
        description=annotations.get("rule_note", ""),
        severity=level,
        status=AlertStatus.RESOLVED if recovered else AlertStatus.FIRING,
        dedup_key=f"n9e:{event_hash}",
        labels=labels,
        annotations=annotations,
    )


class UnknownKind(ValueError):
    """A kind of source this intake cannot read."""


def choose_kind(source: Any, kind: str) -> None:
    """Set which tool posts to a source's intake URL; it decides how bodies are read."""
    from webapp.extensions import db

    if kind not in KINDS:
        raise UnknownKind(kind)
    source.kind = kind
    db.session.commit()


# A small body of each tool's shape, for the test command an admin runs against the intake.
EXAMPLES: dict[str, dict[str, Any]] = {
    "alertmanager": {
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
    },
    "grafana": {
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
    },
    "zabbix": {
        "event_id": "1001",
        "event_value": "1",
        "event_name": "High CPU utilization on web-01",
        "severity": "High",
        "host": "web-01",
        "message": "CPU above 90% for 5 minutes",
    },
    "nightingale": {
        "hash": "oncall-test-4",
        "rule_name": "Disk usage above 90%",
        "severity": 2,
        "is_recovered": False,
        "tags": ["ident=db-01", "service=mysql"],
        "trigger_value": "93.1",
    },
    "generic": {
        "title": "Disk almost full on db-01",
        "severity": "critical",
        "labels": {"host": "db-01"},
    },
}


def test_command(kind: str, url: str) -> str:
    """A curl command posting the kind's example body to the intake URL."""
    body = json.dumps(EXAMPLES[kind], ensure_ascii=False).replace("'", "'\\''")
    return f"curl -sS -X POST -H 'Content-Type: application/json' -d '{body}' {url}"


def intake_url(source: Any) -> str:
    from flask import current_app

    return f"{current_app.config['PUBLIC_BASE_URL']}/api/v1/alerts/{source.key}"
