"""An incident's states and the verbs each allows: the one rule the service's guards, the
card, the list row, the detail page and the bulk bar all ask."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Protocol

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


def state_verbs(incident: Stateful, now: datetime) -> tuple[Verb, ...]:
    """What the incident's state allows, whoever asks: the card uses this for everyone, and
    the service refuses every other verb."""
    if incident.status is Status.CLOSED:
        return (Verb.REOPEN,)
    if incident.is_snoozed(now):
        return (Verb.UNSNOOZE, Verb.RESOLVE)
    if incident.status is Status.PROCESSING:
        return (Verb.UNACKNOWLEDGE, Verb.RESOLVE, Verb.SNOOZE)
    return (Verb.ACKNOWLEDGE, Verb.RESOLVE, Verb.SNOOZE)
