"""Which actions an incident offers, to whom, and what each one says: the one rule.

The Lark card, the list row, the detail page and the bulk bar all ask `offers()`, so the
card and the web app can never disagree about what a state allows. `perform()` is the one
table from verb to service call; `label()` and `done_text()` the one table of words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _

from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.incidents.states import Stateful as Stateful
from webapp.incidents.states import Verb as Verb
from webapp.incidents.states import state_verbs as state_verbs
from webapp.models import Incident, Member

# The verbs the bulk bar offers for the selected rows.
BULK = (Verb.ACKNOWLEDGE, Verb.RESOLVE)


@dataclass(frozen=True)
class Offers:
    """The verbs in the order shown and, when the viewer may not use them, why (the buttons
    show, disabled, with this reason)."""

    verbs: tuple[Verb, ...]
    refused: str | None = None

    @property
    def main(self) -> Verb | None:
        """The one action drawn as primary: going back (Unacknowledge) never is."""
        return next((v for v in self.verbs if v is not Verb.UNACKNOWLEDGE), None)

    def __contains__(self, verb: object) -> bool:
        return verb in self.verbs


def offers(
    incident: Incident, now: datetime, viewer: Member | None = None, *, visible: bool = False
) -> Offers:
    """The verbs `viewer` sees on this incident; None is the shared card (everyone's view).
    `visible` says the caller's query already applied `may_view` (a list of rows)."""
    if viewer is None:
        return Offers(state_verbs(incident, now))
    if not visible and not incidents.may_view(viewer, incident):
        return Offers(())
    return visible_offers(incident, now, viewer)


def visible_offers(incident: Stateful, now: datetime, viewer: Member) -> Offers:
    """The verbs on an incident the viewer's query already found visible (a list row)."""
    return Offers(state_verbs(incident, now), seat_refusal(viewer))


def seat_refusal(member: Member) -> str | None:
    """Why this member's buttons are disabled, or None when they may act."""
    if member.has_seat:
        return None
    return _("You have no license seat, so you cannot act on incidents.")


def bulk_offers(viewer: Member) -> Offers:
    return Offers(BULK, seat_refusal(viewer))


def label(verb: Verb) -> str:
    return labels()[verb]


def labels() -> dict[Verb, str]:
    return {
        Verb.ACKNOWLEDGE: _("Acknowledge"),
        Verb.UNACKNOWLEDGE: _("Unacknowledge"),
        Verb.RESOLVE: _("Resolve"),
        Verb.REOPEN: _("Reopen"),
        Verb.SNOOZE: _("Snooze"),
        Verb.UNSNOOZE: _("Unsnooze"),
    }


def span(minutes: int) -> str:
    """ "30 min", "4 h": a snooze length as buttons and toasts write it."""
    return _("%(n)s min", n=minutes) if minutes < 60 else _("%(n)s h", n=minutes // 60)


def done_text(verb: Verb, number: int, minutes: int | None = None) -> str:
    """The success toast, the same on the card and in the web app."""
    if verb is Verb.SNOOZE and minutes:
        return _("Incident #%(n)s snoozed for %(span)s.", n=number, span=span(minutes))
    texts = {
        Verb.ACKNOWLEDGE: _("Incident #%(n)s acknowledged.", n=number),
        Verb.UNACKNOWLEDGE: _("Incident #%(n)s is triggered again.", n=number),
        Verb.RESOLVE: _("Incident #%(n)s resolved.", n=number),
        Verb.REOPEN: _("Incident #%(n)s reopened.", n=number),
        Verb.SNOOZE: _("Incident #%(n)s snoozed.", n=number),
        Verb.UNSNOOZE: _("Incident #%(n)s is no longer snoozed.", n=number),
    }
    return texts[verb]


Call = Callable[[Incident, Actor, int | None, int], Incident]

# The one table: verb -> the incident service call, for the card and the web app alike.
_CALLS: dict[Verb, Call] = {
    Verb.ACKNOWLEDGE: lambda inc, actor, v, m: incidents.acknowledge(inc, actor, v),
    Verb.UNACKNOWLEDGE: lambda inc, actor, v, m: incidents.unacknowledge(inc, actor, v),
    Verb.RESOLVE: lambda inc, actor, v, m: incidents.resolve(inc, actor, v),
    Verb.REOPEN: lambda inc, actor, v, m: incidents.reopen(inc, actor, v),
    Verb.SNOOZE: lambda inc, actor, v, m: incidents.snooze(inc, actor, m, v),
    Verb.UNSNOOZE: lambda inc, actor, v, m: incidents.unsnooze(inc, actor, v),
}


def perform(
    verb: Verb, incident: Incident, actor: Actor, version: int | None, minutes: int = 0
) -> Incident:
    """Run the verb; raises the service's IncidentError subclasses on refusal."""
    return _CALLS[verb](incident, actor, version, minutes)


def parse(raw: str, allowed: Sequence[Verb] = tuple(Verb)) -> Verb | None:
    try:
        verb = Verb(raw)
    except ValueError:
        return None
    return verb if verb in allowed else None
