"""Who acts on an incident (Actor), the errors a verb raises, and the change signal."""

from __future__ import annotations

from dataclasses import dataclass

from blinker import Namespace
from flask_babel import lazy_gettext

from webapp.models import Incident, Member, Source

_signals = Namespace()
# Sent with (incident, event=IncidentEvent) inside the transaction, before the commit.
incident_changed = _signals.signal("incident-changed")


@dataclass(frozen=True)
class Actor:
    member: Member | None
    source: Source
    # The Lark card message the click came from: its copy is updated by the callback's
    # answer, so the outbox only needs to update the other copies.
    message_id: str | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls(None, Source.SYSTEM)

    @classmethod
    def api(cls) -> Actor:
        return cls(None, Source.API)

    @property
    def name(self) -> str:
        return self.member.name if self.member else str(lazy_gettext("the system"))


class IncidentError(Exception):
    """A refused change. `code` is stable for programs; str(error) is for people."""

    code = "error"

    def __init__(self, message: str, incident: Incident | None = None) -> None:
        super().__init__(message)
        self.incident = incident


class InvalidTransition(IncidentError):
    code = "invalid_transition"


class StaleVersion(IncidentError):
    code = "stale"


class NotAllowed(IncidentError):
    code = "forbidden"


class NoSeat(IncidentError):
    code = "no_seat"


# -- verbs -----------------------------------------------------------------------------
