"""What becomes of an outbox row: delivered, or failed with a reason and a timeline line.

Shared by the worker loop (webapp/delivery/worker.py) and the per-kind handlers (kinds.py).
"""

from __future__ import annotations

import enum
import random
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from webapp.dispatch import fallback
from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.lark.errors import fix
from webapp.models import (
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    EventKind,
    FailureReason,
    Incident,
)
from webapp.outbox import NOTIFY_PURPOSE, target

BACKOFF_BASE = 2.0  # seconds; doubles per attempt ...
BACKOFF_CAP = 60.0  # ... up to a minute, so a recovered Lark is used again within a minute

# A target still waiting this long after its row was written gets one timeline line.
WAITING_LINE_AFTER = timedelta(minutes=1)


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


def backoff(attempts: int, retry_after: float | None) -> float:
    """Exponential backoff with jitter, never sooner than the receiver's own reset time."""
    delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))
    delay *= random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not security
    return max(delay, retry_after or 0.0)


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
    row.payload = {**(row.payload or {}), "failed_at": now.isoformat()}
    stats.add(failed=1)
    incident = db.session.get(Incident, row.incident_id) if row.incident_id else None
    if incident is None:
        return
    details: dict[str, Any] = {**target_details(row), "reason": reason, "kind": row.kind}
    if code is not None:
        details["code"] = code
    if row.member_id:
        details["member_id"] = row.member_id
    incidents.record(incident, Actor.system(), EventKind.NOTIFICATION_FAILED, details)
    if row.kind == DeliveryKind.SEND_CARD and (row.payload or {}).get("purpose") == NOTIFY_PURPOSE:
        fallback.after_failure(row, incident, reason, now)


def target_details(row: Delivery) -> dict[str, Any]:
    """The target for a timeline line, and the schedule it was reached through (if any):
    the words "on call in ..." are drawn at display time, in the reader's language."""
    details: dict[str, Any] = {"target": target(row)}
    if on_call_in := (row.payload or {}).get("on_call_in"):
        details["on_call_in"] = on_call_in
    return details


def note_waiting(row: Delivery, now: datetime) -> None:
    """A notification waiting more than a minute: one timeline line per row, the first time."""
    payload = row.payload or {}
    if (
        row.kind not in (DeliveryKind.SEND_CARD, DeliveryKind.EMAIL)
        or payload.get("purpose") != NOTIFY_PURPOSE
    ):
        return
    if payload.get("waiting_noted") or row.next_attempt_at - row.created_at <= WAITING_LINE_AFTER:
        return
    row.payload = {**payload, "waiting_noted": now.isoformat()}
    incident = db.session.get(Incident, row.incident_id) if row.incident_id else None
    if incident is None:
        return
    details: dict[str, Any] = {**target_details(row), "reason": row.reason or "queued"}
    details["next_attempt_at"] = row.next_attempt_at.isoformat()
    if row.member_id:
        details["member_id"] = row.member_id
    incidents.record(incident, Actor.system(), EventKind.NOTIFICATION_WAITING, details)


def waiting_words(reason: str | None) -> str:
    """Why a notification is waiting, in words."""
    texts = {
        "rate_limited": _("Lark's rate limit holds it back; it is sent as soon as Lark allows."),
        "server": _("Lark answers with errors; it is retried automatically."),
        "network": _("Lark cannot be reached; it is retried automatically."),
        "quota": _("The monthly API quota is used up; it waits for the reset."),
        "smtp": _("The mail server refused or could not be reached; it is retried."),
    }
    return texts.get(reason or "", _("Queued; the delivery worker sends it next."))


class ToldVia(enum.StrEnum):
    LARK = "lark"  # a person's direct card
    CHAT = "chat"  # a group chat's card
    EMAIL = "email"
    BUZZ = "buzz"  # one step of a person's ladder (webapp/paging/)


class ToldState(enum.StrEnum):
    DELIVERED = "delivered"
    WAITING = "waiting"
    FAILED = "failed"
    # A buzz step's own states: rang, still to come, stopped by an acknowledgement, held back.
    BUZZED = "buzzed"
    SCHEDULED = "scheduled"
    STOPPED = "stopped"
    QUIET = "quiet"


@dataclass(frozen=True)
class Told:
    """One target of an incident's notifications and where its delivery stands."""

    target: str
    channel: ToldVia
    state: ToldState
    at: datetime | None  # delivered or failed at; the next attempt when waiting
    message_id: str | None
    reason: str | None
    words: str  # why it waits, or the fix for a failure
    via: str = ""  # a buzz step's way: app, sms, phone or email
    step: int = 0  # its place in the person's ladder
    rule: str = ""  # whose ladder: own, account, built_in


def who_was_told(incident: Incident) -> list[Told]:
    """Per person and chat the dispatch policy named (and each e-mail), one visible state:
    the latest row for that target decides."""
    rows = db.session.scalars(
        select(Delivery)
        .where(
            Delivery.incident_id == incident.id,
            Delivery.kind.in_((DeliveryKind.SEND_CARD, DeliveryKind.EMAIL)),
        )
        .order_by(Delivery.id)
    )
    latest: dict[tuple[ToldVia, str], Delivery] = {}
    for row in rows:
        if (row.payload or {}).get("purpose") != NOTIFY_PURPOSE:
            continue
        if row.status is DeliveryStatus.CANCELLED:
            continue
        channel = (
            ToldVia.EMAIL
            if row.kind == DeliveryKind.EMAIL
            else (ToldVia.CHAT if row.receive_id_type == "chat_id" else ToldVia.LARK)
        )
        who = f"m{row.member_id}" if row.member_id else str(row.receive_id or target(row))
        latest[(channel, who)] = row
    told: list[Told] = []
    for (channel, _who), row in latest.items():
        if row.status is DeliveryStatus.DELIVERED:
            told.append(
                Told(
                    target(row),
                    channel,
                    ToldState.DELIVERED,
                    row.delivered_at,
                    row.message_id,
                    None,
                    "",
                )
            )
        elif row.status is DeliveryStatus.FAILED:
            failed_at = (row.payload or {}).get("failed_at")
            at = datetime.fromisoformat(failed_at) if failed_at else row.created_at
            reason = row.reason or FailureReason.SERVER
            words = fix(reason) if reason != FailureReason.SMTP else (row.last_error or "")
            told.append(Told(target(row), channel, ToldState.FAILED, at, None, reason, words))
        else:
            told.append(
                Told(
                    target(row),
                    channel,
                    ToldState.WAITING,
                    row.next_attempt_at,
                    None,
                    row.reason,
                    waiting_words(row.reason),
                )
            )
    return told + buzzes(incident)


def buzzes(incident: Incident) -> list[Told]:
    """Each step of each person's ladder: rang (when, how), stopped, held back or refused
    (with Lark's reason and its fix), or still scheduled."""
    rows = db.session.scalars(
        select(Delivery)
        .where(Delivery.incident_id == incident.id, Delivery.kind == DeliveryKind.BUZZ)
        .order_by(Delivery.next_attempt_at, Delivery.id)
    )
    return [_buzz_told(row) for row in rows]


def _buzz_told(row: Delivery) -> Told:
    payload = row.payload or {}
    failed_at = payload.get("failed_at")
    state, at, words = {
        DeliveryStatus.DELIVERED: (ToldState.BUZZED, row.delivered_at, ""),
        DeliveryStatus.CANCELLED: (ToldState.STOPPED, None, ""),
        DeliveryStatus.FAILED: (
            ToldState.FAILED,
            datetime.fromisoformat(failed_at) if failed_at else None,
            fix(row.reason or ""),
        ),
        DeliveryStatus.PENDING: (ToldState.SCHEDULED, row.next_attempt_at, ""),
    }[row.status]
    if row.status is DeliveryStatus.CANCELLED and row.reason == "quiet_hours":
        state = ToldState.QUIET
    return Told(
        target(row),
        ToldVia.BUZZ,
        state,
        at,
        row.message_id,
        row.reason,
        words,
        via=str(payload.get("via") or ""),
        step=int(payload.get("step") or 0),
        rule=str(payload.get("rule") or ""),
    )
