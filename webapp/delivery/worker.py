"""The delivery worker: due outbox rows -> free-quota check -> rate limits -> Lark -> outcome.

`flask lark worker` runs `run_once` in a loop. Each row ends delivered, failed with a reason
(and a line in the incident's timeline), or pending with its next attempt; nothing is dropped.

Claiming: a short transaction picks due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so any
number of workers on any number of hosts share the queue) and pushes their `next_attempt_at`
one lease ahead. A worker that dies mid-batch simply lets the lease run out and another
worker takes the rows again; the row's `uuid` makes Lark drop a repeated send. Before each
row the worker checks the lease is still its own (and renews it with a compare-and-set when
half of it is gone), so a row taken over by another worker is skipped, never handled twice.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import datetime, timedelta

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import case, func, select, update

from webapp.delivery import buzz_kinds, gates, lark_limits, mail, schedule_kinds, webhook_kinds
from webapp.delivery.gates import notice_card
from webapp.delivery.kinds import HANDLERS
from webapp.delivery.outcomes import backoff, fail, note_waiting, stats
from webapp.dispatch import fallback
from webapp.extensions import db
from webapp.heartbeats import service as heartbeats
from webapp.lark import usage
from webapp.lark.errors import LarkError
from webapp.models import Delivery, DeliveryKind, DeliveryStatus, Incident, LarkIntegration, utcnow
from webapp.outbox import NOTIFY_PURPOSE
from webapp.silences import tick as silences

__all__ = ["backoff", "claim", "handle", "notice_card", "run_once", "run_threads", "stats", "work"]

log = logging.getLogger(__name__)

BATCH = 50
LEASE = timedelta(seconds=60)  # far above one row's work (a few calls of LARK_HTTP_TIMEOUT)
# Lark drops a repeated `uuid` for one hour; past that a retried send could post twice, so
# a send still failing after 55 minutes of retries ends as failed (with its reason).
RETRY_WINDOW = timedelta(minutes=55)
# The rows that post a message with a `uuid` (schedule_kinds has its own bound).
UUID_SENDS = frozenset(
    {DeliveryKind.SEND_CARD, DeliveryKind.NOTICE, DeliveryKind.REPLY, DeliveryKind.DIGEST}
)
PERIODIC_EVERY = timedelta(minutes=5)  # how often each loop runs the periodic jobs
# How often each loop looks for silent heartbeats: a 1-minute heartbeat's incident opens
# within this of its deadline.
HEARTBEATS_EVERY = timedelta(seconds=10)

_claim_lock = threading.Lock()  # SQLite has no SKIP LOCKED: threads of one process take turns


# -- the loop --------------------------------------------------------------------------


def run_once(now: datetime | None = None, batch: int = BATCH) -> int:
    """Claim and handle one batch of due rows; returns how many rows were handled."""
    leases = claim(now or utcnow(), batch)
    for row_id, lease in leases:
        handle(row_id, lease, now)
    return len(leases)


def run_periodic(now: datetime) -> None:
    """The jobs the composition root hands the worker (app.extensions["outbox_periodic"],
    e.g. the weekly digest): each only writes outbox rows, idempotently, in its own
    transaction; one failing is logged and leaves the others and the loop running."""
    for job in current_app.extensions.get("outbox_periodic", []):
        try:
            job(now)
        except Exception:
            log.exception("periodic outbox job %s failed", getattr(job, "__name__", job))
            db.session.rollback()


def check_heartbeats(now: datetime) -> int:
    """Open the incidents of heartbeats fallen silent (each claimed by one worker only)."""
    try:
        return heartbeats.check_due(now)
    except Exception:  # a bug here must never hold back the deliveries
        log.exception("checking heartbeats failed; trying again shortly")
        db.session.rollback()
        return 0


def work(interval: float, stop: threading.Event | None = None) -> None:
    """Deliver until stopped: when nothing is due, sleep until the next row is (≤ interval)."""
    periodic_at = heartbeats_at = utcnow()
    while stop is None or not stop.is_set():
        if utcnow() >= periodic_at:
            run_periodic(utcnow())
            periodic_at = utcnow() + PERIODIC_EVERY
        if utcnow() >= heartbeats_at:
            check_heartbeats(utcnow())
            heartbeats_at = utcnow() + HEARTBEATS_EVERY
        try:
            schedule_kinds.queue_reminders(utcnow())
            silences.run(utcnow())  # silences and windows that began or ended: once each
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
            case((Delivery.kind == DeliveryKind.NOTICE, 0), else_=1),
            Delivery.next_attempt_at,
            Delivery.id,
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
    """Check the row is still ours, do its work, record the outcome, commit."""
    when = now or utcnow()
    if lease - when < LEASE / 2:
        if not _renew(row_id, lease, when):
            return
        lease = when + LEASE
    row = db.session.get(Delivery, row_id)
    if row is None or row.status is not DeliveryStatus.PENDING or row.next_attempt_at != lease:
        db.session.rollback()
        return  # handled already, or our lease ran out and another worker took it
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


def _renew(row_id: int, lease: datetime, now: datetime) -> bool:
    """Half the lease is gone (a slow batch): extend it, unless another worker took the row.

    With more than half left no other worker can take the row before we are done with it
    (one row's work is bounded by a few LARK_HTTP_TIMEOUTs), so most rows skip this commit.
    """
    renewed = db.session.execute(
        update(Delivery)
        .where(
            Delivery.id == row_id,
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.next_attempt_at == lease,
        )
        .values(next_attempt_at=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return renewed.rowcount == 1  # type: ignore[attr-defined]


def _handle(row: Delivery, now: datetime) -> None:
    if row.kind == DeliveryKind.WEBHOOK:  # an account's own receiver, not Lark
        webhook_kinds.deliver(row, now)
        return
    integration = db.session.get(LarkIntegration, row.integration_id)
    if row.kind == DeliveryKind.EMAIL:  # e-mail goes out even when the Lark integration is disabled
        mail.deliver(row, integration, now)
        return
    if integration is None or not integration.enabled:
        fail(row, "integration_disabled", None, "the Lark integration is disabled", now)
        return
    handler = (
        HANDLERS.get(row.kind)
        or schedule_kinds.HANDLERS.get(row.kind)
        or buzz_kinds.HANDLERS.get(row.kind)
    )
    if handler is None:
        fail(row, "invalid_request", None, f"unknown outbox kind {row.kind!r}", now)
        return
    handler(row, integration, now)


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
    notification = (row.payload or {}).get("purpose") == NOTIFY_PURPOSE
    if exc.reason == "quota":
        integration = db.session.get(LarkIntegration, row.integration_id)
        if integration is not None:
            lark_limits.lark_said_quota_used_up(integration, now)
    if exc.reason == "quota" and notification:
        # An incident never waits for next month: the row fails now (and falls back).
        fail(row, exc.reason, exc.code, str(exc), now)
    elif exc.reason == "quota":
        row.next_attempt_at = lark_limits.quota_resets_at(now)
    elif exc.permanent:
        fail(row, exc.reason, exc.code, str(exc), now)
    elif row.kind in UUID_SENDS and now - first > RETRY_WINDOW:
        fail(row, exc.reason, exc.code, f"gave up after {row.attempts} attempts: {exc}", now)
    else:
        row.next_attempt_at = now + timedelta(seconds=backoff(row.attempts, exc.retry_after))
        incident = db.session.get(Incident, row.incident_id) if row.incident_id else None
        if exc.reason == "rate_limited" and incident is not None:
            gates.maybe_notice(row, incident, now)
        note_waiting(row, now)
        if (
            incident is not None
            and row.member is not None
            and row.integration_id is not None
            and (row.payload or {}).get("purpose") == NOTIFY_PURPOSE
            and fallback.lark_failing_long(incident, first, now)
        ):
            fallback.email(incident, row.member, row.reason or "server", row.integration_id, now)
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


# -- `flask lark worker` -------------------------------------------------------------------

lark_cli = AppGroup("lark", help="Deliver incident cards to Lark.")


@lark_cli.command("worker")
@click.option("--once", is_flag=True, help="Handle one batch of due rows, then exit.")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between idle polls.")
@click.option("--batch", default=BATCH, show_default=True, help="Rows claimed at a time.")
@click.option(
    "--threads",
    type=int,
    default=None,
    help="Rows handled at once, each waiting on Lark [default: 4; 1 on SQLite].",
)
def worker_command(once: bool, interval: float, batch: int, threads: int | None) -> None:
    """Deliver outbox rows to Lark; run any number of these on any number of hosts."""
    if once:
        schedule_kinds.queue_reminders(utcnow(), force=True)
        check_heartbeats(utcnow())
        click.echo(f"handled {run_once(batch=batch)} row(s)")
        return
    if threads is None:  # SQLite takes one writer at a time: more threads only wait
        threads = 1 if db.engine.dialect.name == "sqlite" else 4
    log.info("outbox worker started: %d thread(s), idle poll %.1fs", threads, interval)
    stop = threading.Event()
    # A supervisor's SIGTERM lets the rows in hand finish and the usage counts be written.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    run_threads(current_app._get_current_object(), threads, interval, stop)  # type: ignore[attr-defined]
    usage.flush()


def run_threads(
    app: Flask, threads: int, interval: float, stop: threading.Event | None = None
) -> None:
    """`threads` claim-and-deliver loops in this process (each with its own DB session)."""
    stop = stop or threading.Event()

    def loop() -> None:
        with app.app_context():
            work(interval, stop)

    started = [
        threading.Thread(target=loop, name=f"outbox-{n}", daemon=True) for n in range(threads)
    ]
    for thread in started:
        thread.start()
    try:
        while any(t.is_alive() for t in started):
            for thread in started:
                thread.join(timeout=1.0)
    except KeyboardInterrupt:
        stop.set()


def init_app(app: Flask) -> None:
    lark_cli.add_command(schedule_kinds.remind_command)
    app.cli.add_command(lark_cli)
