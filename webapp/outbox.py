"""The delivery worker: due outbox rows -> free-quota check -> rate limits -> Lark -> outcome.

`flask lark worker` runs `run_once` in a loop. Each row ends delivered, failed with a reason
(and a line in the incident's timeline), or pending with its next attempt; nothing is dropped.

Claiming: a short transaction picks due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so any
number of workers on any number of hosts share the queue) and pushes their `next_attempt_at`
one lease ahead. A worker that dies mid-batch simply lets the lease run out and another
worker takes the rows again; the row's `uuid` makes Lark drop a repeated send. Before each
row the worker renews the lease with a compare-and-set on that same column, so a row whose
lease ran out and was taken by someone else is skipped rather than handled twice.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from webapp import dispatch, incidents, lark_limits
from webapp.extensions import db
from webapp.incidents import Actor
from webapp.lark.client import LarkClient
from webapp.lark.errors import LarkError
from webapp.models import (
    CardMessage,
    Delivery,
    DeliveryStatus,
    DispatchRule,
    Incident,
    LarkIntegration,
    Platform,
    utcnow,
)

log = logging.getLogger(__name__)

BATCH = 50
LEASE = timedelta(seconds=60)  # far above one row's work (a few calls of LARK_HTTP_TIMEOUT)
BACKOFF_BASE = 2.0  # seconds; doubles per attempt ...
BACKOFF_CAP = 60.0  # ... up to a minute, so a recovered Lark is used again within a minute
# Lark drops a repeated `uuid` for one hour; past that a retried send could post twice, so
# a send still failing after 55 minutes of retries ends as failed (with its reason).
RETRY_WINDOW = timedelta(minutes=55)
NOTICE_AFTER = timedelta(minutes=1)  # late by more than this: tell the channel's chats once
NOTICE_EVERY = timedelta(minutes=30)  # at most one such notice per chat per half hour
# Kinds that are incident notifications: they still go out when the free quota is used up.
NOTIFY_PURPOSE = "notify"

_claim_lock = threading.Lock()  # SQLite has no SKIP LOCKED: threads of one process take turns


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


# -- the loop --------------------------------------------------------------------------


def run_once(now: datetime | None = None, batch: int = BATCH) -> int:
    """Claim and handle one batch of due rows; returns how many rows were handled."""
    leases = claim(now or utcnow(), batch)
    for row_id, lease in leases:
        handle(row_id, lease, now)
    return len(leases)


def work(interval: float, stop: threading.Event | None = None) -> None:
    """Deliver until stopped: when nothing is due, sleep until the next row is (≤ interval)."""
    while stop is None or not stop.is_set():
        try:
            handled = run_once()
        except Exception:
            log.exception("outbox batch failed; retrying after the interval")
            db.session.rollback()
            handled = 0
        if handled == 0:
            time.sleep(_idle_seconds(interval))
        db.session.remove()


def _idle_seconds(interval: float) -> float:
    due = db.session.scalar(
        select(func.min(Delivery.next_attempt_at)).where(Delivery.status == DeliveryStatus.PENDING)
    )
    db.session.rollback()
    if due is None:
        return interval
    return min(interval, max(0.01, (due - utcnow()).total_seconds()))


def claim(now: datetime, batch: int) -> list[tuple[int, datetime]]:
    """Take up to `batch` due rows for one lease; notices first, then oldest due first."""
    lease = now + LEASE
    stmt = (
        select(Delivery.id)
        .where(Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now)
        .order_by(
            case((Delivery.kind == "notice", 0), else_=1), Delivery.next_attempt_at, Delivery.id
        )
        .limit(batch)
    )
    postgres = db.engine.dialect.name == "postgresql"
    if postgres:
        stmt = stmt.with_for_update(skip_locked=True)
    with _claim_lock if not postgres else _no_lock():
        ids = list(db.session.scalars(stmt))
        if ids:
            db.session.execute(
                update(Delivery)
                .where(Delivery.id.in_(ids))
                .values(next_attempt_at=lease)
                .execution_options(synchronize_session=False)
            )
        db.session.commit()
    return [(row_id, lease) for row_id in ids]


class _no_lock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def handle(row_id: int, lease: datetime, now: datetime | None = None) -> None:
    """Renew the row's lease (or find it taken), do its work, record the outcome, commit."""
    when = now or utcnow()
    renewed = db.session.execute(
        update(Delivery)
        .where(
            Delivery.id == row_id,
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.next_attempt_at == lease,
        )
        .values(next_attempt_at=when + LEASE)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if renewed.rowcount != 1:  # type: ignore[attr-defined]
        return
    row = db.session.get(Delivery, row_id)
    if row is None:
        return
    try:
        _handle(row, when)
    except LarkError as exc:
        _failed_call(row, exc, when)
    except Exception as exc:
        db.session.rollback()
        log.exception("outbox row %s crashed", row_id)
        _crashed(row_id, exc, when)
        return
    db.session.commit()


def _handle(row: Delivery, now: datetime) -> None:
    integration = db.session.get(LarkIntegration, row.integration_id)
    if integration is None or not integration.enabled:
        _fail(row, "integration_disabled", None, "the Lark integration is disabled", now)
        return
    handler = HANDLERS.get(row.kind)
    if handler is None:
        _fail(row, "invalid_request", None, f"unknown outbox kind {row.kind!r}", now)
        return
    handler(row, integration, now)


# -- kinds -------------------------------------------------------------------------------


def _send_card(row: Delivery, integration: LarkIntegration, now: datetime) -> None:
    incident = db.session.get(Incident, row.incident_id) if row.incident_id else None
    if incident is None or not row.receive_id or not row.receive_id_type:
        _end(row, DeliveryStatus.CANCELLED, "incident_gone", now)
        return
    if _waits_for_quota(row, integration, now):
        return
    version = incident.version
    card = render(incident, integration, row)
    client = _client(integration)
    # The budget is taken last, right before the call, so Lark sees calls spaced as we count them.
    wait = lark_limits.allow_send(integration.app_id, row.receive_id)
    if _waits_for_limit(row, incident, integration, now, wait):
        return
    sent = client.send_card(row.receive_id_type, row.receive_id, card, row.uuid)
    row.attempts += 1
    row.message_id = sent.message_id
    _remember_card(row, incident, integration, sent.message_id, sent.chat_id, version)
    _end(row, DeliveryStatus.DELIVERED, None, now)
    if (row.payload or {}).get("purpose") == NOTIFY_PURPOSE:
        incidents.record(
            incident, Actor.system(), "notified", {"target": _target(row), "layer": row.layer}
        )


def _update_card(row: Delivery, integration: LarkIntegration, now: datetime) -> None:
    card_message = db.session.get(CardMessage, row.card_message_id) if row.card_message_id else None
    incident = db.session.get(Incident, row.incident_id) if row.incident_id else None
    if card_message is None or incident is None:
        _end(row, DeliveryStatus.CANCELLED, "card_gone", now)
        return
    if card_message.rendered_version >= incident.version:
        # An earlier row already drew this version: no call needed.
        _end(row, DeliveryStatus.DELIVERED, "up_to_date", now)
        return
    if _waits_for_quota(row, integration, now):
        return
    version = incident.version
    card = render(incident, integration, row)
    client = _client(integration)
    wait = lark_limits.allow_update(integration.app_id, card_message.message_id)
    if _waits_for_limit(row, incident, integration, now, wait):
        return
    client.update_card(card_message.message_id, card)
    row.attempts += 1
    card_message.rendered_version = max(card_message.rendered_version, version)
    _end(row, DeliveryStatus.DELIVERED, None, now)


def _notice(row: Delivery, integration: LarkIntegration, now: datetime) -> None:
    if not row.receive_id or not row.receive_id_type:
        _end(row, DeliveryStatus.CANCELLED, "invalid_request", now)
        return
    if _waits_for_quota(row, integration, now) or _waits_for_limit(
        row, None, integration, now, lark_limits.allow_send(integration.app_id, row.receive_id)
    ):
        return
    card = notice_card(locale_for(integration, None))
    sent = _client(integration).send_card(row.receive_id_type, row.receive_id, card, row.uuid)
    row.attempts += 1
    row.message_id = sent.message_id
    _end(row, DeliveryStatus.DELIVERED, None, now)


def _escalate(row: Delivery, integration: LarkIntegration, now: datetime) -> None:
    dispatch.escalate(row, now)


def _war_room(row: Delivery, integration: LarkIntegration, now: datetime) -> None:
    from webapp import war_rooms

    if _waits_for_quota(row, integration, now):
        return
    wait = lark_limits.allow_call(integration.app_id, "chats")
    if _waits_for_limit(row, None, integration, now, wait):
        return
    war_rooms.build(row, integration, _client(integration), now)
    row.attempts += 1
    _end(row, DeliveryStatus.DELIVERED, None, now)


Handler = Callable[[Delivery, LarkIntegration, datetime], None]
HANDLERS: dict[str, Handler] = {
    "send_card": _send_card,
    "update_card": _update_card,
    "notice": _notice,
    "escalate": _escalate,
    "war_room": _war_room,
}


# -- outcomes ----------------------------------------------------------------------------


def _client(integration: LarkIntegration) -> LarkClient:
    return _Counting(LarkClient.for_integration(integration))  # type: ignore[return-value]


class _Counting:
    """Counts each Lark call the worker makes (the benchmark's calls per delivered message)."""

    def __init__(self, client: LarkClient) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if not callable(method):
            return method

        def counted(*args: Any, **kwargs: Any) -> Any:
            stats.add(calls=1)
            return method(*args, **kwargs)

        return counted


def _end(row: Delivery, status: DeliveryStatus, reason: str | None, now: datetime) -> None:
    row.status = status
    row.reason = reason
    if status is DeliveryStatus.DELIVERED:
        row.delivered_at = now
        row.last_error = None if reason is None else row.last_error
        stats.add(delivered=1)


def _fail(row: Delivery, reason: str, code: int | None, message: str, now: datetime) -> None:
    """A permanent failure: the row says why and the incident's timeline shows it."""
    row.status = DeliveryStatus.FAILED
    row.reason = reason
    row.last_error_code = code
    row.last_error = message[:500]
    stats.add(failed=1)
    incident = db.session.get(Incident, row.incident_id) if row.incident_id else None
    if incident is None:
        return
    details: dict[str, Any] = {"target": _target(row), "reason": reason, "kind": row.kind}
    if code is not None:
        details["code"] = code
    if row.member_id:
        details["member_id"] = row.member_id
    incidents.record(incident, Actor.system(), "notification_failed", details)


def _failed_call(row: Delivery, exc: LarkError, now: datetime) -> None:
    """Record a refused call: wait for next month, retry later, or fail for good."""
    db.session.rollback()  # drop anything half-done for this row; keep the row itself
    row = db.session.get(Delivery, row.id) or row
    row.attempts += 1
    row.last_error_code = exc.code
    row.last_error = str(exc)[:500]
    row.reason = exc.reason
    first = _first_attempt(row, now)
    if exc.reason == "rate_limited":
        stats.add(rate_limited_answers=1)
    if exc.reason == "quota":
        row.next_attempt_at = lark_limits.quota_resets_at(now)
    elif exc.permanent:
        _fail(row, exc.reason, exc.code, str(exc), now)
    elif row.kind == "send_card" and now - first > RETRY_WINDOW:
        _fail(row, exc.reason, exc.code, f"gave up after {row.attempts} attempts: {exc}", now)
    else:
        row.next_attempt_at = now + timedelta(seconds=backoff(row.attempts, exc.retry_after))
        incident = db.session.get(Incident, row.incident_id) if row.incident_id else None
        if exc.reason == "rate_limited" and incident is not None:
            _maybe_notice(row, incident, now)
    db.session.commit()


def _crashed(row_id: int, exc: Exception, now: datetime) -> None:
    """A bug, not Lark: keep the row pending with the error shown and try again later."""
    row = db.session.get(Delivery, row_id)
    if row is None:
        return
    row.attempts += 1
    row.last_error = f"internal error: {type(exc).__name__}: {exc}"[:500]
    row.next_attempt_at = now + timedelta(seconds=backoff(row.attempts, None))
    db.session.commit()


def _first_attempt(row: Delivery, now: datetime) -> datetime:
    payload = dict(row.payload or {})
    if "first_attempt_at" not in payload:
        payload["first_attempt_at"] = now.isoformat()
        row.payload = payload
    return datetime.fromisoformat(payload["first_attempt_at"])


def backoff(attempts: int, retry_after: float | None) -> float:
    """Exponential backoff with jitter, never sooner than Lark's own reset time."""
    delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))
    delay *= random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not security
    return max(delay, retry_after or 0.0)


def _remember_card(
    row: Delivery,
    incident: Incident,
    integration: LarkIntegration,
    message_id: str,
    chat_id: str | None,
    version: int,
) -> None:
    """The card we sent, so later changes update it in place (a retried send finds it)."""
    existing = db.session.scalars(
        select(CardMessage).where(
            CardMessage.integration_id == integration.id, CardMessage.message_id == message_id
        )
    ).first()
    if existing is not None:
        existing.rendered_version = max(existing.rendered_version, version)
        return
    db.session.add(
        CardMessage(
            integration_id=integration.id,
            incident_id=incident.id,
            message_id=message_id,
            chat_id=chat_id,
            receive_id_type=row.receive_id_type or "open_id",
            receive_id=row.receive_id or "",
            rendered_version=version,
        )
    )


def _target(row: Delivery) -> str:
    return str((row.payload or {}).get("target") or row.receive_id or "")


# -- the free edition's monthly quota -------------------------------------------------------


def _waits_for_quota(row: Delivery, integration: LarkIntegration, now: datetime) -> bool:
    """At 100 % only incident notifications go out; the rest waits for the 1st of next month."""
    notification = row.kind == "send_card" and (row.payload or {}).get("purpose") == NOTIFY_PURPOSE
    if notification or not lark_limits.quota_used_up(integration, now):
        return False
    reset = lark_limits.quota_resets_at(now)
    row.next_attempt_at = reset
    row.reason = "quota"
    row.last_error = (
        "the free edition's monthly API quota is used up; only incident notifications are "
        f"sent until it resets on {reset.date().isoformat()}"
    )
    stats.add(deferred=1)
    return True


# -- rate limits and the "running late" notice ---------------------------------------------


def _waits_for_limit(
    row: Delivery,
    incident: Incident | None,
    integration: LarkIntegration,
    now: datetime,
    wait: float,
) -> bool:
    if wait <= 0:
        return False
    row.next_attempt_at = now + timedelta(seconds=wait)
    stats.add(deferred=1)
    if incident is not None:
        _maybe_notice(row, incident, now)
    return True


def _maybe_notice(row: Delivery, incident: Incident, now: datetime) -> None:
    """Delivery running more than a minute late: one notice per chat of the channel."""
    if row.kind not in ("send_card", "update_card") or incident.channel_id is None:
        return
    if row.next_attempt_at - row.created_at <= NOTICE_AFTER:
        return
    bucket = int(now.timestamp() // NOTICE_EVERY.total_seconds())
    for chat_id in channel_chats(incident.channel_id, row.integration_id):
        digest = hashlib.sha256(chat_id.encode()).hexdigest()[:20]
        _insert_once(
            {
                "integration_id": row.integration_id,
                "kind": "notice",
                "receive_id_type": "chat_id",
                "receive_id": chat_id,
                "uuid": f"notice-{row.integration_id}-{digest}-{bucket}"[:50],
                "status": DeliveryStatus.PENDING.value,
                "next_attempt_at": now,
                "created_at": now,
                "attempts": 0,
                "layer": 0,
                "payload": {"target": chat_id, "channel_id": incident.channel_id},
            }
        )


def channel_chats(channel_id: int, integration_id: int) -> list[str]:
    rules = db.session.scalars(
        select(DispatchRule).where(
            DispatchRule.channel_id == channel_id, DispatchRule.integration_id == integration_id
        )
    )
    chats: dict[str, None] = {}
    for rule in rules:
        for layer in rule.layers or []:
            chats.update(dict.fromkeys(str(c) for c in layer.get("chat_ids") or []))
    return list(chats)


def _insert_once(values: dict[str, Any]) -> None:
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(Delivery).values(**values).on_conflict_do_nothing(index_elements=["uuid"])
    db.session.execute(stmt)


# -- rendering ---------------------------------------------------------------------------


def locale_for(integration: LarkIntegration, row: Delivery | None) -> str:
    """A person's chosen language; otherwise Chinese on Feishu and English on Lark."""
    if row is not None and row.member is not None and row.member.locale:
        return row.member.locale
    return "zh" if integration.platform is Platform.FEISHU else "en"


def render(incident: Incident, integration: LarkIntegration, row: Delivery) -> dict[str, Any]:
    """The card from the incident's state now, not from when the row was written."""
    from webapp.lark import applink, cards

    web_url = applink.incident_url(integration, incident.number)
    return cards.incident_card(incident, locale=locale_for(integration, row), web_url=web_url)


def notice_card(locale: str) -> dict[str, Any]:
    with force_locale(locale):
        title = _("Incident notifications are running late")
        text = _(
            "Lark's rate limits are delaying incident cards by more than a minute. "
            "Nothing is lost: they arrive in order as soon as Lark allows."
        )
    return {
        "schema": "2.0",
        "config": {"update_multi": True},
        "header": {"title": {"tag": "plain_text", "content": title}, "template": "yellow"},
        "body": {"elements": [{"tag": "markdown", "content": text}]},
    }


# -- `flask lark worker` -------------------------------------------------------------------

lark_cli = AppGroup("lark", help="Deliver incident cards to Lark.")


@lark_cli.command("worker")
@click.option("--once", is_flag=True, help="Handle one batch of due rows, then exit.")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between idle polls.")
@click.option("--batch", default=BATCH, show_default=True, help="Rows claimed at a time.")
def worker_command(once: bool, interval: float, batch: int) -> None:
    """Deliver outbox rows to Lark; run any number of these on any number of hosts."""
    if once:
        click.echo(f"handled {run_once(batch=batch)} row(s)")
        return
    log.info("outbox worker started (poll every %.1fs)", interval)
    work(interval)


def init_app(app: Flask) -> None:
    app.cli.add_command(lark_cli)
