"""What a card button means: one small versioned value, one table from action to service verb.

A button's callback value is {"a": code, "i": incident id, "v": incident version} and,
for snooze, "m": minutes. The version lets a click on an old copy of the card be told
apart from a click on the current one (the service refuses a stale version).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

from webapp.dispatch import war_rooms
from webapp.incidents import offers
from webapp.incidents.offers import Verb
from webapp.incidents.service import Actor
from webapp.models import Incident


class CardAction(enum.StrEnum):
    ACKNOWLEDGE = "ack"
    UNACKNOWLEDGE = "unack"
    RESOLVE = "res"
    REOPEN = "reo"
    SNOOZE = "snz"
    UNSNOOZE = "uns"
    WAR_ROOM = "war"  # asks for the incident's Lark group chat (作战室)
    REFRESH = "ref"  # redraws the card; changes nothing


# The snooze lengths offered on the card (a subset of incidents.SNOOZE_MINUTES).
CARD_SNOOZE_MINUTES = (30, 60, 240, 1440)


@dataclass(frozen=True)
class Click:
    action: CardAction
    incident_id: int
    version: int
    minutes: int | None = None

    def value(self) -> dict[str, Any]:
        out: dict[str, Any] = {"a": self.action.value, "i": self.incident_id, "v": self.version}
        if self.minutes is not None:
            out["m"] = self.minutes
        return out


# Card codes are the wire format; the verbs and their service calls live in one table
# (webapp/incidents/offers.py), shared with the web app.
VERB_OF: dict[CardAction, Verb] = {
    CardAction.ACKNOWLEDGE: Verb.ACKNOWLEDGE,
    CardAction.UNACKNOWLEDGE: Verb.UNACKNOWLEDGE,
    CardAction.RESOLVE: Verb.RESOLVE,
    CardAction.REOPEN: Verb.REOPEN,
    CardAction.SNOOZE: Verb.SNOOZE,
    CardAction.UNSNOOZE: Verb.UNSNOOZE,
}
ACTION_OF: dict[Verb, CardAction] = {verb: action for action, verb in VERB_OF.items()}


def button_value(
    action: CardAction, incident: Incident, minutes: int | None = None
) -> dict[str, Any]:
    return Click(action, incident.id, incident.version, minutes).value()


def parse(value: Any) -> Click | None:
    """The click a callback's `action.value` describes, or None when it is not one of ours."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return None
    if not isinstance(value, dict):
        return None
    try:
        action = CardAction(str(value["a"]))
        incident_id, version = int(value["i"]), int(value["v"])
        minutes = int(value["m"]) if "m" in value else None
    except (KeyError, TypeError, ValueError):
        return None
    if action is CardAction.SNOOZE and minutes not in CARD_SNOOZE_MINUTES:
        return None
    return Click(action, incident_id, version, minutes)


def perform(incident: Incident, actor: Actor, click: Click) -> Incident:
    """Run the click's verb; raises the service's IncidentError subclasses on refusal."""
    if click.action is CardAction.REFRESH:
        return incident
    if click.action is CardAction.WAR_ROOM:
        return war_rooms.open_from_card(incident, actor)
    verb = VERB_OF[click.action]
    return offers.perform(verb, incident, actor, click.version, click.minutes or 0)
