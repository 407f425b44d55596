"""Heartbeats: saving them, receiving pings, and opening an incident when one falls silent.

A heartbeat is due `period + grace` after its last ping (or after it was created or resumed).
The worker loop calls `check_due`; each miss is claimed by one conditional UPDATE (the row
still not down, still due), so any number of workers open exactly one incident for it. The
incident goes through the incident service (source `system`), so it is paged like any other;
the next ping resolves it, and the timeline says which heartbeat and why.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from limits import parse
from sqlalchemy import select, update

from webapp import ratelimit
from webapp.extensions import db
from webapp.incidents import alert_state
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.models import Channel, Heartbeat, Incident, Severity, Status, utcnow

# Pings per ping URL (a cron job or Alertmanager pings every few seconds at most), and per
# client address, which also bounds guessing tokens.
PINGS_PER_TOKEN = parse("60/minute")
PINGS_PER_ADDRESS = parse("600/minute")
RETRY_AFTER_S = 60

MIN_PERIOD = timedelta(minutes=1)
MAX_PERIOD = timedelta(days=30)
MAX_GRACE = timedelta(days=7)


class InvalidHeartbeat(ValueError):
    """A field of the form is wrong; `field` names it, the message says how to fix it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Settings:
    name: str
    channel_id: int
    period: timedelta
    grace: timedelta


def checked(
    account_id: int, name: str, channel_id: int, period_min: int, grace_min: int
) -> Settings:
    """The settings as stored, or InvalidHeartbeat naming the first wrong field."""
    name = name.strip()
    if not name or len(name) > 120:
        raise InvalidHeartbeat("name", _("Give the heartbeat a name of 1 to 120 characters."))
    channel = db.session.get(Channel, channel_id)
    if channel is None or channel.account_id != account_id:
        raise InvalidHeartbeat("channel_id", _("Choose a channel of this account."))
    period, grace = timedelta(minutes=period_min), timedelta(minutes=grace_min)
    if not MIN_PERIOD <= period <= MAX_PERIOD:
        raise InvalidHeartbeat("period", _("The period is 1 minute to 30 days (43,200 minutes)."))
    if not timedelta(0) <= grace <= MAX_GRACE:
        raise InvalidHeartbeat("grace", _("The grace time is 0 to 7 days (10,080 minutes)."))
    return Settings(name, channel.id, period, grace)


def create(account_id: int, settings: Settings, commit: bool = True) -> Heartbeat:
    """A new heartbeat with a fresh ping token; `commit=False` flushes (the caller commits)."""
    token = secrets.token_urlsafe(24)
    now = utcnow()
    heartbeat = Heartbeat(
        account_id=account_id,
        name=settings.name,
        channel_id=settings.channel_id,
        period_s=int(settings.period.total_seconds()),
        grace_s=int(settings.grace.total_seconds()),
        token_hash=token_hash(token),
        paused=False,
        created_at=now,
    )
    heartbeat.token = token
    heartbeat.due_at = now + _allowed(heartbeat)  # a switch that never pings is dead too
    db.session.add(heartbeat)
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return heartbeat


def edit(heartbeat: Heartbeat, settings: Settings) -> None:
    heartbeat.name = settings.name
    heartbeat.channel_id = settings.channel_id
    heartbeat.period_s = int(settings.period.total_seconds())
    heartbeat.grace_s = int(settings.grace.total_seconds())
    heartbeat.due_at = (heartbeat.last_ping_at or heartbeat.created_at) + _allowed(heartbeat)
    db.session.commit()


def pause(heartbeat: Heartbeat) -> None:
    """Stop checking; an incident already open stays open until resolved or pinged away."""
    heartbeat.paused = True
    db.session.commit()


def resume(heartbeat: Heartbeat) -> None:
    """Check again, counting the period from now (the pause was no silence)."""
    heartbeat.paused = False
    heartbeat.due_at = utcnow() + _allowed(heartbeat)
    db.session.commit()


def delete(heartbeat: Heartbeat) -> None:
    db.session.delete(heartbeat)
    db.session.commit()


def ping_url(heartbeat: Heartbeat) -> str:
    return f"{str(current_app.config['PUBLIC_BASE_URL']).rstrip('/')}/ping/{heartbeat.token}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def of_account(account_id: int) -> list[Heartbeat]:
    return list(
        db.session.scalars(
            select(Heartbeat).where(Heartbeat.account_id == account_id).order_by(Heartbeat.name)
        )
    )


# -- pings and misses ------------------------------------------------------------------


def allow_ping(token: str, address: str) -> bool:
    """Count one ping; False when this URL or this client is over its limit."""
    limiter = ratelimit.limiter()
    return limiter.hit(PINGS_PER_ADDRESS, "ping-address", address) and limiter.hit(
        PINGS_PER_TOKEN, "ping-token", token_hash(token)
    )


def ping(token: str) -> Heartbeat | None:
    """Record a ping; resolve the incident its silence opened. None for an unknown token."""
    found = db.session.execute(
        select(Heartbeat).where(Heartbeat.token_hash == token_hash(token)).with_for_update()
    ).scalar_one_or_none()
    if found is None:
        db.session.rollback()
        return None
    now = utcnow()
    found.last_ping_at = now
    found.due_at = now + _allowed(found)
    incident_id, found.incident_id, found.down_since = found.incident_id, None, None
    if incident_id is not None:
        _resolve(incident_id, found)
    db.session.commit()
    return found


def _resolve(incident_id: int, heartbeat: Heartbeat) -> None:
    incident = db.session.execute(
        select(Incident).where(Incident.id == incident_id).with_for_update()
    ).scalar_one_or_none()
    if incident is None or incident.status is Status.CLOSED:
        return  # someone resolved it by hand meanwhile
    details = {"heartbeat": heartbeat.id, "name": heartbeat.name, "alert": heartbeat.name}
    alert_state.resolved(incident, Actor.system(), details, last=True)


def check_due(now: datetime) -> int:
    """Open an incident for each heartbeat silent past its grace; returns how many this
    call opened (another worker may have claimed some)."""
    due = list(
        db.session.scalars(
            select(Heartbeat.id).where(
                Heartbeat.paused.is_(False),
                Heartbeat.down_since.is_(None),
                Heartbeat.due_at <= now,
            )
        )
    )
    db.session.rollback()  # end the read: each claim below is its own short transaction
    return sum(1 for heartbeat_id in due if _claim_and_open(heartbeat_id, now))


def _claim_and_open(heartbeat_id: int, now: datetime) -> bool:
    claimed = db.session.execute(
        update(Heartbeat)
        .where(
            Heartbeat.id == heartbeat_id,
            Heartbeat.paused.is_(False),
            Heartbeat.down_since.is_(None),
            Heartbeat.due_at <= now,
        )
        .values(down_since=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()  # pinged, paused or claimed by another worker meanwhile
        return False
    heartbeat = db.session.get(Heartbeat, heartbeat_id, populate_existing=True)
    assert heartbeat is not None
    silent = int((now - (heartbeat.last_ping_at or heartbeat.created_at)).total_seconds())
    incident = incidents.open_incident(
        heartbeat.account_id,
        title=heartbeat.name,
        severity=Severity.CRITICAL,
        actor=Actor.system(),
        channel_id=heartbeat.channel_id,
        labels={"heartbeat": heartbeat.name},
        dedup_key=f"heartbeat-{heartbeat.id}-{int(now.timestamp())}",
        details={"heartbeat": heartbeat.id, "name": heartbeat.name, "silent_s": silent},
        commit=False,
    )
    heartbeat.incident_id = incident.id
    db.session.commit()
    return True


def _allowed(heartbeat: Heartbeat) -> timedelta:
    return timedelta(seconds=heartbeat.period_s + heartbeat.grace_s)
