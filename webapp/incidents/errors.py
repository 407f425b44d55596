"""Who acts on an incident (Actor), the errors a verb raises, and the change signal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    # The API token the change came through, by name; recorded on the timeline event.
    via: str | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls(None, Source.SYSTEM)

    @classmethod
    def api(cls) -> Actor:
        return cls(None, Source.API)

    @property
    def name(self) -> str:
        if self.member:
            return self.member.name
        if self.via:
            return str(lazy_gettext("API token %(name)s", name=self.via))
        return str(lazy_gettext("the system"))

    def stamp(self, details: dict[str, Any]) -> dict[str, Any]:
        """The event's details with where the change came from (card message, API token)."""
        if self.message_id:
            details["message_id"] = self.message_id
        if self.via:
            details["token"] = self.via
        return details


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
