"""Maintenance windows: booked ahead, once or weekly in a stated time zone.

Each occurrence is a silence (`Silence.window_id`) booked when the one before it ends (the
first when the window is saved), scoped to the window's channel and matchers. Its start
holds the incidents in scope (their pending escalation is cancelled) and tells the chats;
its end pages what is still open (when the window says so) and tells the chats what arrived.
A weekly window repeats at the same local time on the same weekday: across a DST change its
UTC moment moves with the clock on the wall.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import gettext as _
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.incidents.service import Actor
from webapp.models import Alert, Channel, MaintenanceWindow, Silence, utcnow
from webapp.silences import audit, notices, service
from webapp.silences.matchers import Matcher, MatcherInvalid, check_set

MAX_MINUTES = 7 * 24 * 60
LISTED = 3  # next occurrences shown on the admin page


class WindowInvalid(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass
class WindowInput:
    name: str
    channel_id: int | None
    matchers: list[Matcher]
    timezone: str
    start_date: date
    start_time: time
    duration_minutes: int
    weekly: bool
    page_at_end: bool


@dataclass(frozen=True)
class Occurrence:
    starts_at: datetime  # UTC
    ends_at: datetime


def occurrence(window: MaintenanceWindow | WindowInput, day: date) -> Occurrence:
    """The occurrence that starts on `day` (local), its length counted on the wall clock."""
    zone = ZoneInfo(window.timezone)
    local = datetime.combine(day, window.start_time, tzinfo=zone)
    end = local + timedelta(minutes=window.duration_minutes)  # aware + delta: wall-clock time
    return Occurrence(local.astimezone(UTC), end.astimezone(UTC))


def _ends(data: WindowInput) -> datetime:
    return occurrence(data, data.start_date).ends_at


def upcoming(window: MaintenanceWindow, after: datetime, count: int = LISTED) -> list[Occurrence]:
    """The next `count` occurrences that have not ended by `after`."""
    if window.ended_at is not None:
        return []
    if not window.weekly:
        only = occurrence(window, window.start_date)
        return [only] if only.ends_at > after else []
    local_day = after.astimezone(ZoneInfo(window.timezone)).date()
    weeks = max(0, (local_day - window.start_date).days // 7 - 1)
    found: list[Occurrence] = []
    while len(found) < count:
        one = occurrence(window, window.start_date + timedelta(weeks=weeks))
        if one.ends_at > after:
            found.append(one)
        weeks += 1
    return found


def save(account_id: int, data: WindowInput, actor: Actor) -> MaintenanceWindow:
    """Book a window and its first occurrence; commits. Refusals name each field."""
    _check(account_id, data)
    window = MaintenanceWindow(
        account_id=account_id,
        name=data.name.strip(),
        channel_id=data.channel_id,
        matchers=[m.as_json() for m in data.matchers],
        timezone=data.timezone,
        start_date=data.start_date,
        start_time=data.start_time,
        duration_minutes=data.duration_minutes,
        weekly=data.weekly,
        page_at_end=data.page_at_end,
        member_id=actor.member.id if actor.member else None,
    )
    db.session.add(window)
    db.session.flush()
    details = {"name": window.name, "weekly": window.weekly, "timezone": window.timezone}
    audit.record(account_id, actor, "window_created", f"window:{window.id}", details, actor.name)
    silence = book_next(window, utcnow())
    if silence is not None and silence.starts_at <= utcnow():
        started(silence, actor, utcnow())
    db.session.commit()
    return window


def cancel(window: MaintenanceWindow, actor: Actor) -> None:
    """No more occurrences; one under way ends now (and pages, if the window says so)."""
    now = utcnow()
    window.ended_at = now
    for silence in window.silences:
        if silence.finished_at is None and silence.starts_at <= now:
            silence.ends_at = now
            finished(silence, actor, now)
        elif silence.finished_at is None:
            db.session.delete(silence)  # booked, never begun: nothing to tell
    subject = f"window:{window.id}"
    audit.record(window.account_id, actor, "window_ended", subject, {"name": window.name}, "")
    db.session.commit()


def book_next(window: MaintenanceWindow, after: datetime) -> Silence | None:
    """The silence of the next occurrence, unless the window is over or it is booked."""
    following = upcoming(window, after, 1)
    if not following:
        return None
    one = following[0]
    booked = db.session.scalar(
        select(Silence.id).where(Silence.window_id == window.id, Silence.starts_at == one.starts_at)
    )
    if booked is not None:
        return None
    silence = Silence(
        id=str(uuid.uuid4()),
        account_id=window.account_id,
        matchers=list(window.matchers),
        starts_at=one.starts_at,
        ends_at=one.ends_at,
        comment=window.name,
        created_by=window.member.name if window.member else "",
        member_id=window.member_id,
        source="system",
        window_id=window.id,
        channel_id=window.channel_id,
        page_at_end=window.page_at_end,
    )
    db.session.add(silence)
    db.session.flush()
    return silence


def started(silence: Silence, actor: Actor, now: datetime) -> None:
    """An occurrence began: hold the incidents in scope and tell the chats."""
    held = service.begin(silence, actor, now)
    assert silence.window is not None
    notices.began(silence.window, silence, held)


def finished(silence: Silence, actor: Actor, now: datetime) -> None:
    """An occurrence ended: release (and page) what it held, tell the chats, book the next."""
    window = silence.window
    assert window is not None
    ending = service.finish(silence, actor, now, "window ended")
    arrived = int(
        db.session.scalar(select(func.count(Alert.id)).where(Alert.silence_id == silence.id)) or 0
    )
    still_open = ending.paged + ending.released + ending.handed_over
    notices.ended(window, silence, arrived, still_open, paged=ending.paged)
    book_next(window, now)


def _check(account_id: int, data: WindowInput) -> None:
    errors: dict[str, str] = {}
    if not data.name.strip() or len(data.name) > 120:
        errors["name"] = _("Give the window a name of at most 120 characters.")
    if data.channel_id is not None:
        channel = db.session.get(Channel, data.channel_id)
        if channel is None or channel.account_id != account_id:
            errors["channel_id"] = _("Choose one of this account's channels.")
    if data.matchers:
        try:
            check_set(data.matchers)
        except MatcherInvalid as exc:
            errors["matchers"] = str(exc)
    elif data.channel_id is None:
        errors["matchers"] = _('Choose a channel, or write matchers such as env="staging".')
    try:
        ZoneInfo(data.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = _("Choose a time zone from the list, e.g. Asia/Shanghai.")
    if not 1 <= data.duration_minutes <= MAX_MINUTES:
        errors["duration_minutes"] = _("A window lasts between 1 minute and 7 days.")
    elif "timezone" not in errors and not data.weekly and _ends(data) <= utcnow():
        errors["start_date"] = _("This window would already be over: choose a later start.")
    if errors:
        raise WindowInvalid(errors)
