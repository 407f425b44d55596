"""An incident's states, the word for each and the verbs each allows: the one rule the
service's guards, the card, the list row, the detail page and the bulk bar all ask, and the
one vocabulary the card and the web app both speak."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Protocol

from flask_babel import gettext as _

from webapp.models import Status


class Verb(enum.StrEnum):
    ACKNOWLEDGE = "acknowledge"
    UNACKNOWLEDGE = "unacknowledge"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    SNOOZE = "snooze"
    UNSNOOZE = "unsnooze"


class Stateful(Protocol):
    """What the verbs depend on: an Incident, or a list's plain row (webapp/incidents/rows)."""

    @property
    def status(self) -> Status: ...

    def is_snoozed(self, now: datetime) -> bool: ...


class State(enum.StrEnum):
    """The state as people read it: the stored status, with snoozing seen on top."""

    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


def state_of(incident: Stateful, now: datetime) -> State:
    if incident.status is Status.CLOSED:
        return State.RESOLVED
    if incident.is_snoozed(now):
        return State.SNOOZED
    if incident.status is Status.PROCESSING:
        return State.ACKNOWLEDGED
    return State.TRIGGERED


_VERBS: dict[State, tuple[Verb, ...]] = {
    State.TRIGGERED: (Verb.ACKNOWLEDGE, Verb.RESOLVE, Verb.SNOOZE),
    State.ACKNOWLEDGED: (Verb.UNACKNOWLEDGE, Verb.RESOLVE, Verb.SNOOZE),
    State.SNOOZED: (Verb.UNSNOOZE, Verb.RESOLVE),
    State.RESOLVED: (Verb.REOPEN,),
}


def state_verbs(incident: Stateful, now: datetime) -> tuple[Verb, ...]:
    """What the incident's state allows, whoever asks: the card uses this for everyone, and
    the service refuses every other verb."""
    return _VERBS[state_of(incident, now)]


def state_words() -> dict[State, str]:
    """The one word for each state, on the card and in the web app, in the reader's language."""
    return {
        State.TRIGGERED: _("Triggered"),
        State.ACKNOWLEDGED: _("Acknowledged"),
        State.SNOOZED: _("Snoozed"),
        State.RESOLVED: _("Resolved"),
    }
