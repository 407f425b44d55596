"""Calendar feeds: a secret iCalendar URL per schedule and per member of it.

The token is shown once in the URL; only its SHA-256 is stored, so a database leak
reveals no working URL. Revoking deletes the row; issuing again replaces it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from icalendar import Calendar, Event
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import CalendarFeed, Member, Schedule, utcnow
from webapp.oncall.schedule import shifts

DAYS_BACK = 7
DAYS_AHEAD = 28


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(schedule: Schedule, member: Member | None = None) -> str:
    """A new secret token for the schedule's (or the member's) feed; the old one stops working."""
    revoke(schedule, member)
    token = secrets.token_urlsafe(32)
    db.session.add(
        CalendarFeed(
            schedule_id=schedule.id,
            member_id=member.id if member else None,
            token_hash=_digest(token),
        )
    )
    db.session.commit()
    return token


def revoke(schedule: Schedule, member: Member | None = None) -> None:
    for feed in db.session.scalars(
        select(CalendarFeed).where(
            CalendarFeed.schedule_id == schedule.id,
            CalendarFeed.member_id.is_(None)
            if member is None
            else CalendarFeed.member_id == member.id,
        )
    ):
        db.session.delete(feed)
    db.session.commit()


def feed_of(token: str) -> CalendarFeed | None:
    digest = _digest(token)
    feed = db.session.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == digest))
    if feed is None or not hmac.compare_digest(feed.token_hash, digest):
        return None
    return feed


def render(feed: CalendarFeed) -> bytes:
    """The final schedule (overrides applied), one event per shift naming the person."""
    schedule = feed.schedule
    now = utcnow().replace(microsecond=0)
    found = shifts(
        schedule, now - timedelta(days=DAYS_BACK), now + timedelta(days=DAYS_AHEAD), feed.member
    )
    names = dict(
        db.session.execute(
            select(Member.id, Member.name).where(Member.account_id == schedule.account_id)
        )
        .tuples()
        .all()
    )
    cal = Calendar()
    cal.add("prodid", "-//oncall//schedules//EN")
    cal.add("version", "2.0")
    cal.add(
        "x-wr-calname",
        schedule.name if feed.member is None else f"{schedule.name}: {feed.member.name}",
    )
    for s in found:
        who = names.get(s.member_id, "?")
        event = Event()
        origin = f"o{s.override_id}" if s.override_id else f"l{s.layer_id}"
        event.add("uid", f"{schedule.id}-{origin}-{int(s.start.timestamp())}@oncall")
        event.add("dtstamp", now)
        event.add("dtstart", s.start)
        event.add("dtend", s.end)
        event.add("summary", f"On call: {who} ({schedule.name})")
        cal.add_component(event)
    return bytes(cal.to_ical())
