"""What becomes of an outbox row: delivered, or failed with a reason and a timeline line.

Shared by the worker loop (webapp/delivery/worker.py) and the per-kind handlers (kinds.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.models import Delivery, DeliveryStatus, Incident

# send_card rows with this purpose are incident notifications (not a war room's card): they
# are the ones still sent when the free edition's quota is used up.
NOTIFY_PURPOSE = "notify"


@dataclass
class Stats:
    """What this process's workers did, for the benchmarks and the worker's log line."""

    calls: int = 0
    delivered: int = 0
    failed: int = 0
    deferred: int = 0
    rate_limited_answers: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


stats = Stats()


def end(row: Delivery, status: DeliveryStatus, reason: str | None, now: datetime) -> None:
    row.status = status
    row.reason = reason
    if status is DeliveryStatus.DELIVERED:
        row.delivered_at = now
        row.last_error = None if reason is None else row.last_error
        stats.add(delivered=1)


def fail(row: Delivery, reason: str, code: int | None, message: str, now: datetime) -> None:
    """A permanent failure: the row says why and the incident's timeline shows it."""
    row.status = DeliveryStatus.FAILED
    row.reason = reason
    row.last_error_code = code
    row.last_error = message[:500]
    stats.add(failed=1)
    incident = db.session.get(Incident, row.incident_id) if row.incident_id else None
    if incident is None:
        return
    details: dict[str, Any] = {"target": target(row), "reason": reason, "kind": row.kind}
    if code is not None:
        details["code"] = code
    if row.member_id:
        details["member_id"] = row.member_id
    incidents.record(incident, Actor.system(), "notification_failed", details)


def target(row: Delivery) -> str:
    return str((row.payload or {}).get("target") or row.receive_id or "")
