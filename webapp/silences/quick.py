""" "Silence…" on an incident (its card, its page): a silence from the incident's stable labels.

Values that change from one alert to the next (numbers, timestamps, long text) are left out,
so the silence catches the next alert of the same kind, not only this one. Pressing again on
the same incident extends the silence it made instead of making another.
"""

from __future__ import annotations

import re
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from webapp.extensions import db
from webapp.incidents.service import Actor, InvalidTransition, check_may_act
from webapp.models import Incident, Silence, Status, utcnow
from webapp.silences import service
from webapp.silences.matchers import Matcher

QUICK_MINUTES = (60, 120, 480, 1440)  # 1 h, 2 h, 8 h, 1 day
LONG_TEXT = 64
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d+)?|\.\d+)(e[+-]?\d+)?\s*[%a-zA-Z/]{0,4}$")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}|\d{2}:\d{2}(:\d{2})?|^\d{10}(\d{3})?$")


def offered(incident: Incident) -> bool:
    """An open incident can be silenced; a closed one has nothing left to page."""
    return incident.status is not Status.CLOSED


def volatile(value: str) -> bool:
    """A value that will differ on the next alert of the same kind."""
    return (
        len(value) > LONG_TEXT
        or bool(_NUMBER.match(value.strip()))
        or bool(_TIMESTAMP.search(value))
    )


def stable_matchers(incident: Incident) -> list[Matcher]:
    """`name="value"` for each stable label, or the incident's dedup key when none is left."""
    kept = [
        Matcher(name, value)
        for name, value in sorted((incident.labels or {}).items())
        if value and not volatile(value)
    ]
    if not kept and incident.dedup_key:
        kept = [Matcher("oncall_dedup_key", incident.dedup_key)]
    return kept


def silence_incident(incident: Incident, actor: Actor, minutes: int) -> Silence:
    """Silence what the incident is made of for `minutes`, or extend the silence made from it
    before by as much. Refusals raise the incident service's errors (the card and the page
    word them)."""
    check_may_act(incident, actor)
    if minutes not in QUICK_MINUTES or not offered(incident):
        raise InvalidTransition(
            _("Silence an open incident for 1, 2 or 8 hours or a day."), incident
        )
    now = utcnow()
    earlier = made_from(incident)
    if earlier is not None:
        until = max(earlier.ends_at, now) + timedelta(minutes=minutes)
        return service.extend(earlier, until, actor)
    wanted = stable_matchers(incident)
    if not wanted:
        raise InvalidTransition(
            _("This incident has no labels to silence on; snooze it instead."), incident
        )
    data = service.SilenceInput(
        matchers=wanted,
        starts_at=now,
        ends_at=now + timedelta(minutes=minutes),
        created_by=actor.name,
        comment=_("Silenced from incident #%(n)s", n=incident.number),
    )
    return service.save(incident.account_id, data, actor, incident_id=incident.id)


def made_from(incident: Incident) -> Silence | None:
    """The silence made from this incident that has not ended yet, if any."""
    return db.session.scalar(
        select(Silence)
        .where(
            Silence.incident_id == incident.id,
            Silence.window_id.is_(None),
            Silence.ends_at > utcnow(),
        )
        .order_by(Silence.created_at.desc())
        .limit(1)
    )


def holding(incident: Incident) -> Silence | None:
    """The silence holding the incident's pages now (for the card and the page)."""
    if incident.silence_id is None:
        return None
    return db.session.get(Silence, incident.silence_id)
