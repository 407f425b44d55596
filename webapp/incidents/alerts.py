"""Alert intake: turn a generic JSON alert or an Alertmanager webhook into incidents.

Parsing is separate from applying: the whole body is validated first (every bad field is
named), then every alert is applied in one transaction, so a bad body writes nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.models import Alert, AlertSource, AlertStatus, Incident, Severity, Status

MAX_ALERTS = 500
# Caps on each alert's labels and annotations (count, key and value length).
MAX_MAP_ENTRIES = 64
MAX_KEY_LENGTH = 128
MAX_VALUE_LENGTH = 4000


class InvalidAlerts(ValueError):
    """The body is not acceptable; `fields` maps each bad field to what is wrong with it."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("invalid alert body")
        self.fields = fields


@dataclass
class ParsedAlert:
    title: str
    severity: Severity
    status: AlertStatus
    dedup_key: str
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@dataclass
class Outcome:
    action: str  # created | joined | resolved | closed | duplicate | ignored
    incident_number: int | None


# -- parsing ---------------------------------------------------------------------------


def parse(body: Any) -> list[ParsedAlert]:
    """Accept the generic shape or Alertmanager's webhook (version 4)."""
    if not isinstance(body, dict):
        raise InvalidAlerts({"body": "must be a JSON object"})
    from webapp.incidents import sources as alert_sources

    if kind := alert_sources.detect(body):
        return alert_sources.parse(body, kind)
    if "alerts" in body:
        return _parse_alertmanager(body)
    errors: dict[str, str] = {}
    alert = _parse_generic(body, "", errors)
    if errors or alert is None:
        raise InvalidAlerts(errors)
    return [alert]


def _parse_generic(body: dict[str, Any], prefix: str, errors: dict[str, str]) -> ParsedAlert | None:
    title = body.get("title")
    if not isinstance(title, str) or not title.strip():
        errors[prefix + "title"] = "required: a non-empty string"
    elif len(title) > 500:
        errors[prefix + "title"] = "at most 500 characters"
    description = _optional_str(body, "description", prefix, errors, 20_000)
    severity = _severity(body.get("severity", "Warning"), prefix + "severity", errors)
    status = _status(body.get("status", "firing"), prefix + "status", errors)
    labels = _str_map(body.get("labels", {}), prefix + "labels", errors)
    dedup = body.get("dedup_key")
    if dedup is not None and (not isinstance(dedup, str) or not dedup or len(dedup) > 255):
        errors[prefix + "dedup_key"] = "a non-empty string of at most 255 characters"
        dedup = None
    starts_at = _time(body.get("starts_at"), prefix + "starts_at", errors)
    if errors or not isinstance(title, str) or severity is None or status is None:
        return None
    return ParsedAlert(
        title=title.strip(),
        description=description,
        severity=severity,
        status=status,
        labels=labels,
        dedup_key=dedup or _fingerprint({"title": title.strip(), **labels}),
        starts_at=starts_at,
    )


def _parse_alertmanager(body: dict[str, Any]) -> list[ParsedAlert]:
    errors: dict[str, str] = {}
    alerts = body.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise InvalidAlerts({"alerts": "must be a non-empty list"})
    if len(alerts) > MAX_ALERTS:
        raise InvalidAlerts({"alerts": f"at most {MAX_ALERTS} alerts per request"})
    common_raw = body.get("commonLabels")
    common: dict[str, Any] = common_raw if isinstance(common_raw, dict) else {}
    parsed: list[ParsedAlert] = []
    for i, raw in enumerate(alerts):
        prefix = f"alerts[{i}]."
        if not isinstance(raw, dict):
            errors[f"alerts[{i}]"] = "must be an object"
            continue
        labels = _str_map(raw.get("labels"), prefix + "labels", errors, required=True)
        annotations = _str_map(raw.get("annotations", {}), prefix + "annotations", errors)
        from webapp.incidents.sources import grafana_extras

        annotations.update(grafana_extras(raw))  # Grafana's links and values
        status = _status(raw.get("status"), prefix + "status", errors)
        starts_at = _time(raw.get("startsAt"), prefix + "startsAt", errors, required=True)
        ends_at = _time(raw.get("endsAt"), prefix + "endsAt", errors)
        title = annotations.get("summary") or labels.get("alertname") or common.get("alertname")
        if not title and prefix + "labels" not in errors:
            errors[prefix + "labels.alertname"] = "required when annotations.summary is missing"
        severity = _severity(labels.get("severity", "warning"), prefix + "labels.severity", errors)
        fingerprint = raw.get("fingerprint")
        if fingerprint is not None and (not isinstance(fingerprint, str) or not fingerprint):
            errors[prefix + "fingerprint"] = "must be a non-empty string"
        if any(key.startswith(prefix) or key == f"alerts[{i}]" for key in errors):
            continue
        assert title and severity and status  # narrowed by the checks above
        parsed.append(
            ParsedAlert(
                title=str(title)[:500],
                description=annotations.get("description", ""),
                severity=severity,
                status=status,
                labels=labels,
                annotations=annotations,
                dedup_key=fingerprint or _fingerprint(labels),
                starts_at=starts_at,
                # Alertmanager sends the zero time for alerts still firing.
                ends_at=ends_at if ends_at and ends_at.year > 1 else None,
            )
        )
    if errors:
        raise InvalidAlerts(errors)
    return parsed


def _optional_str(
    body: dict[str, Any], name: str, prefix: str, errors: dict[str, str], limit: int
) -> str:
    value = body.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[prefix + name] = "must be a string"
        return ""
    if len(value) > limit:
        errors[prefix + name] = f"at most {limit} characters"
    return value


def _severity(value: Any, name: str, errors: dict[str, str]) -> Severity | None:
    from webapp.incidents.sources import severity

    return severity(value, "generic", name, errors)


def _status(value: Any, name: str, errors: dict[str, str]) -> AlertStatus | None:
    if isinstance(value, str) and value.lower() in ("firing", "resolved"):
        return AlertStatus(value.lower())
    errors[name] = "one of firing, resolved"
    return None


def _str_map(
    value: Any, name: str, errors: dict[str, str], required: bool = False
) -> dict[str, str]:
    """Labels or annotations: at most MAX_MAP_ENTRIES string values, keys of at most
    MAX_KEY_LENGTH and values of at most MAX_VALUE_LENGTH characters; the error names the limit."""
    if value is None and not required:
        return {}
    if not isinstance(value, dict) or (required and not value):
        errors[name] = "required: an object of string values" if required else "must be an object"
        return {}
    if len(value) > MAX_MAP_ENTRIES:
        errors[name] = f"at most {MAX_MAP_ENTRIES} entries (got {len(value)})"
        return {}
    for key, item in value.items():
        if len(key) > MAX_KEY_LENGTH:
            errors[f"{name}.{key[:40]}…"] = f"keys are at most {MAX_KEY_LENGTH} characters"
            return {}
        if not isinstance(item, str) or len(item) > MAX_VALUE_LENGTH:
            errors[f"{name}.{key}"] = f"must be a string of at most {MAX_VALUE_LENGTH:,} characters"
            return {}
    return dict(value)


def _time(value: Any, name: str, errors: dict[str, str], required: bool = False) -> datetime | None:
    if value is None or value == "":
        if required:
            errors[name] = "required: an RFC 3339 time"
        return None
    if not isinstance(value, str):
        errors[name] = "must be an RFC 3339 time"
        return None
    text = value.replace("Z", "+00:00")
    # Alertmanager sends nanoseconds; Python takes at most microseconds.
    if "." in text:
        head, _, tail = text.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        zone = tail[len(digits) :]
        text = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        errors[name] = "must be an RFC 3339 time"
        return None
    if parsed.year <= 1:
        return parsed.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _fingerprint(labels: dict[str, str]) -> str:
    canonical = json.dumps(labels, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


# -- applying --------------------------------------------------------------------------


def ingest(source: AlertSource, alerts: list[ParsedAlert]) -> list[Outcome]:
    """Apply parsed alerts in one transaction; replays of an alert change nothing."""
    actor = Actor.api()
    try:
        outcomes = [_apply(source, alert, actor) for alert in alerts]
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return outcomes


def _apply(source: AlertSource, parsed: ParsedAlert, actor: Actor) -> Outcome:
    # One writer per source at a time, taken before looking for the open incident: the
    # same alert posted 50 times at once (or by an HA pair of Alertmanagers) then finds
    # the incident the first one opened instead of opening its own. A no-op UPDATE takes
    # the row lock on PostgreSQL and SQLite's write lock (with its busy timeout) as the
    # transaction's first write, so no one reads a snapshot that is already stale.
    db.session.execute(
        update(AlertSource).where(AlertSource.id == source.id).values(key=AlertSource.key)
    )
    if parsed.starts_at is None:
        # A generic alert without a start time: the same key while firing is a replay.
        starts_at = datetime.now(UTC)
        existing = _latest_firing(source, parsed.dedup_key)
    else:
        starts_at = parsed.starts_at
        existing = db.session.execute(
            select(Alert).where(
                Alert.source_id == source.id,
                Alert.dedup_key == parsed.dedup_key,
                Alert.starts_at == starts_at,
            )
        ).scalar_one_or_none()
    if parsed.status is AlertStatus.RESOLVED:
        return _resolve(existing, parsed, actor)
    if existing is not None:
        return Outcome("duplicate", existing.incident.number)
    incident = _open_incident_for(source, parsed.dedup_key)
    action = "joined"
    if incident is None:
        incident = incidents.open_incident(
            source.account_id,
            title=parsed.title,
            severity=parsed.severity,
            description=parsed.description,
            channel_id=source.channel_id,
            labels=parsed.labels,
            dedup_key=parsed.dedup_key,
            actor=actor,
            details={"alert": parsed.title, "labels": parsed.labels, "source": source.name},
            commit=False,
        )
        action = "created"
    alert = Alert(
        incident=incident,
        source_id=source.id,
        dedup_key=parsed.dedup_key,
        title=parsed.title,
        description=parsed.description,
        severity=parsed.severity,
        status=AlertStatus.FIRING,
        labels=parsed.labels,
        annotations=parsed.annotations,
        starts_at=starts_at,
    )
    db.session.add(alert)
    incidents.alert_joined(incident, actor, _details(parsed), first=action == "created")
    return Outcome(action, incident.number)


def _resolve(alert: Alert | None, parsed: ParsedAlert, actor: Actor) -> Outcome:
    if alert is None:
        return Outcome("ignored", None)
    incident = alert.incident
    if alert.status is AlertStatus.RESOLVED:
        return Outcome("duplicate", incident.number)
    alert.status = AlertStatus.RESOLVED
    alert.ends_at = parsed.ends_at or datetime.now(UTC)
    # Keep what the resolved alert said (labels, annotations, values) for the timeline.
    alert.labels = parsed.labels or alert.labels
    alert.annotations = parsed.annotations or alert.annotations
    db.session.flush()
    still_firing = db.session.execute(
        select(Alert.id)
        .where(Alert.incident_id == incident.id, Alert.status == AlertStatus.FIRING)
        .limit(1)
    ).first()
    closed = incidents.alert_resolved(incident, actor, _details(parsed), last=still_firing is None)
    return Outcome("closed" if closed else "resolved", incident.number)


def _details(parsed: ParsedAlert) -> dict[str, Any]:
    return {"alert": parsed.title, "labels": parsed.labels, "annotations": parsed.annotations}


def _open_incident_for(source: AlertSource, dedup_key: str) -> Incident | None:
    return db.session.execute(
        select(Incident)
        .where(
            Incident.account_id == source.account_id,
            Incident.dedup_key == dedup_key,
            Incident.status != Status.CLOSED,
        )
        .order_by(Incident.id.desc())
        .limit(1)
        .with_for_update()
    ).scalar_one_or_none()


def _latest_firing(source: AlertSource, dedup_key: str) -> Alert | None:
    return db.session.execute(
        select(Alert)
        .where(
            Alert.source_id == source.id,
            Alert.dedup_key == dedup_key,
            Alert.status == AlertStatus.FIRING,
        )
        .order_by(Alert.id.desc())
        .limit(1)
    ).scalar_one_or_none()
