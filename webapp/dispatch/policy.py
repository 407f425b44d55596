"""Who is told about an incident: a channel's dispatch rules (分派策略) turned into outbox rows.

Everything here runs inside the transaction of the change it reacts to (a listener of
`incidents.incident_changed`), so an incident and its notifications commit together or not
at all. Nothing here talks to Lark: the outbox worker does that after the commit.

Rules are checked in `position` order and the first that matches decides. Its first layer is
told at once; each later layer is told when nobody acknowledged within that layer's
`delay_minutes` (counted from when the previous layer was told). An incident no rule matches
still reaches its assignees directly, through every enabled integration of the account.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from webapp import outbox
from webapp.dispatch import chat_events, fallback, notices
from webapp.dispatch.matching import layer_members, live_binding_of, matching_rule
from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor, incident_changed
from webapp.models import (
    CardMessage,
    ChatStatus,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    DispatchRule,
    EventKind,
    FailureReason,
    Incident,
    IncidentEvent,
    LarkIntegration,
    Member,
    Status,
    utcnow,
)
from webapp.oncall.targets import on_call_members
from webapp.paging import ladder

# Events after which nobody needs to be told "still unacknowledged" (a silence holds the
# incident's pages: its end pages again when the incident still waits, webapp/silences/).
STOPS_ESCALATION = frozenset({EventKind.ACKNOWLEDGED, EventKind.RESOLVED, EventKind.SILENCED})
# Events that alerts make, however many arrive: their card redraws are coalesced into one
# per card every REDRAW_EVERY, far inside Lark's limits (one message updated at most 5 times
# a second, 1,000 updates a minute per app: see webapp/delivery/lark_limits.py), so a storm
# of alerts costs a few updates per incident and chat, never one per alert.
COALESCED = frozenset(
    {EventKind.ALERT_JOINED, EventKind.ALERT_RESOLVED, EventKind.STORM, EventKind.FLAPPING}
)
REDRAW_EVERY = timedelta(seconds=5)


def init_app(app: Flask) -> None:
    # blinker keeps one connection per receiver, so a second app in the process is harmless.
    incident_changed.connect(on_incident_changed)


def on_incident_changed(incident: Incident, event: IncidentEvent, **_: Any) -> None:
    if event.kind == EventKind.TRIGGERED:
        if incident.silence_id is not None:  # a silenced alert is recorded, never paged
            return
        if not_paged := (event.details or {}).get("not_paged"):
            # Recorded, never paged (inhibited, flapping): the timeline says why.
            incidents.record(incident, Actor.system(), EventKind.NOT_PAGED, dict(not_paged))
            return
        notify_new(incident)
        return
    if event.kind == EventKind.UNSILENCED and (event.details or {}).get("paged"):
        notify_new(incident)  # the silence ended: page what still waits, as if it were new
        return
    if (
        event.kind == EventKind.ALERT_JOINED
        and (event.details or {}).get("pages")
        and incident.silence_id is None
    ):
        notify_new(incident)  # opened by a quiet alert; this one may page
    if event.kind in notices.NOTICE_EVENTS:
        notices.alert_notice(incident, event)
    if event.kind in COALESCED:
        redraw_soon(incident)
        return
    update_cards(incident, exclude=(event.details or {}).get("message_id"))
    if event.kind in STOPS_ESCALATION:
        ladder.stop(incident, event.kind)  # the ladder's steps and the policy's escalations


# -- writing rows ------------------------------------------------------------------------


def notify_new(incident: Incident) -> None:
    """A new incident: tell the first layer of the matching rule and schedule the next."""
    rule = matching_rule(incident)
    if rule is None:
        for integration in _enabled_integrations(incident.account_id):
            tell(incident, integration, list(incident.assignees), {}, layer=0)
        return
    nobody = tell_layer(incident, rule, 0)
    schedule_escalation(incident, rule, 1, utcnow(), at_once=nobody)


def tell_layer(incident: Incident, rule: DispatchRule, index: int) -> bool:
    """Tell one layer. True when a schedule it targets has nobody on call (fire the next now)."""
    integration = db.session.get(LarkIntegration, rule.integration_id)
    if integration is None:
        return False
    layer = rule.layers[index]
    chats = {
        str(c): str((layer.get("chat_names") or {}).get(c, c)) for c in layer.get("chat_ids") or []
    }
    members = layer_members(incident, layer)
    schedule_ids = [int(i) for i in layer.get("schedule_ids") or []]
    on_call, empty = on_call_members(incident.account_id, schedule_ids, utcnow())
    via = {m.id: schedule.name for m, schedule in on_call}
    members += [m for m, _ in on_call if m.id not in {x.id for x in members}]
    # A schedule deleted since the rule was saved has nobody on call either: said, not skipped.
    seen = {s.id for _, s in on_call} | {s.id for s in empty}
    names = layer.get("schedule_names") or {}
    nobody = [(s.name, s.id) for s in empty] + [
        (str(names.get(str(i), "?")), i) for i in schedule_ids if i not in seen
    ]
    for name, schedule_id in nobody:
        incidents.record(
            incident,
            Actor.system(),
            EventKind.NOTIFICATION_FAILED,
            {"target": name, "schedule_id": schedule_id, "reason": FailureReason.NOBODY_ON_CALL},
        )
    tell(incident, integration, members, chats, layer=index, on_call_in=via)
    return bool(nobody)


def tell(
    incident: Incident,
    integration: LarkIntegration,
    members: Iterable[Member],
    chats: dict[str, str],
    *,
    layer: int,
    on_call_in: dict[int, str] | None = None,
) -> None:
    """One send_card row per person (by their live binding) and per chat.

    A person with no live binding gets a row that has already failed as `not_linked`, and a
    timeline line, so nobody is left out silently.
    """
    told: list[tuple[Member, Delivery]] = []
    for member in members:
        binding = live_binding_of(integration, member)
        if binding is None:
            _not_linked(incident, integration, member, layer)
            continue
        row = send_row(
            incident, integration, "open_id", binding.open_id, member.name, layer, member
        )
        if schedule_name := (on_call_in or {}).get(member.id):
            row.payload = {**row.payload, "on_call_in": schedule_name}
        _say_why(row, incident, layer)
        told.append((member, row))
    gone = chat_events.gone([integration.id]) if chats else {}
    dissolved = {chat_id for chat_id, row in gone.items() if row.status is ChatStatus.DISBANDED}
    group_cards: list[Delivery] = []
    for chat_id, name in chats.items():
        if chat_id in dissolved:  # a dissolved chat never comes back: said, not sent
            _chat_gone(incident, integration, chat_id, name, layer)
            continue
        group_cards.append(send_row(incident, integration, "chat_id", chat_id, name, layer, None))
    for row in group_cards:
        _say_why(row, incident, layer)
    for member, row in told:  # each person's ladder: their group cards first, then their own
        ladder.plan(incident, integration, member, row, utcnow(), group_cards)


def _say_why(row: Delivery, incident: Incident, layer: int) -> None:
    """A later layer's card says how long nobody acknowledged (the card draws the words)."""
    if layer > 0:
        minutes = max(1, round((utcnow() - incident.created_at).total_seconds() / 60))
        row.payload = {**row.payload, "unacknowledged_for": minutes}


def send_row(
    incident: Incident,
    integration: LarkIntegration,
    id_type: str,
    receive_id: str,
    target: str,
    layer: int,
    member: Member | None,
) -> Delivery:
    return outbox.enqueue(
        DeliveryKind.SEND_CARD,
        integration.id,
        incident_id=incident.id,
        receive_id_type=id_type,
        receive_id=receive_id,
        member=member,
        layer=layer,
        payload={"target": target, "purpose": outbox.NOTIFY_PURPOSE},
    )


def _chat_gone(
    incident: Incident, integration: LarkIntegration, chat_id: str, name: str, layer: int
) -> None:
    target = {"receive_id_type": "chat_id", "receive_id": chat_id}
    why = "Lark said the chat was dissolved"
    _failed(incident, integration, layer, FailureReason.CHAT_GONE, why, name, target)


def _not_linked(
    incident: Incident, integration: LarkIntegration, member: Member, layer: int
) -> None:
    why = "no live Lark binding for this member"
    _failed(
        incident, integration, layer, FailureReason.NOT_LINKED, why, member.name, {"member": member}
    )
    fallback.email(incident, member, fallback.NOT_BOUND, integration.id, utcnow())


def _failed(
    incident: Incident,
    integration: LarkIntegration,
    layer: int,
    reason: FailureReason,
    why: str,
    name: str,
    target: dict[str, Any],
) -> None:
    """A send that is not attempted, recorded as failed with its reason, and said on the
    incident's timeline, so nobody is left out silently."""
    outbox.enqueue(
        DeliveryKind.SEND_CARD,
        integration.id,
        status=DeliveryStatus.FAILED,
        reason=reason,
        last_error=why,
        incident_id=incident.id,
        layer=layer,
        payload={"target": name, "purpose": outbox.NOTIFY_PURPOSE},
        **target,
    )
    member = target.get("member")
    details = {"member_id": member.id} if member else {"chat_id": target.get("receive_id")}
    incidents.record(
        incident,
        Actor.system(),
        EventKind.NOTIFICATION_FAILED,
        {"target": name, **details, "reason": reason},
    )


def schedule_escalation(
    incident: Incident, rule: DispatchRule, index: int, after: datetime, at_once: bool = False
) -> None:
    """An `escalate` row, due when layer `index` should be told if nobody acknowledged."""
    if index >= len(rule.layers):
        return
    delay = 0 if at_once else max(0, int(rule.layers[index].get("delay_minutes") or 0))
    outbox.enqueue(
        DeliveryKind.ESCALATE,
        rule.integration_id,
        incident_id=incident.id,
        layer=index,
        next_attempt_at=after + timedelta(minutes=delay),
        payload={"rule_id": rule.id},
    )


def update_cards(incident: Incident, exclude: str | None) -> None:
    """Every card of the incident is redrawn, except the one a click already updated."""
    for card in incident.card_messages:
        if exclude and card.message_id == exclude:
            continue
        _redraw_row(incident, card, utcnow())


def redraw_soon(incident: Incident) -> None:
    """Alerts changed the incident: one redraw per card within REDRAW_EVERY, whatever their
    number. A card with a redraw already waiting gets none: that row draws the incident as
    it is when it is sent."""
    arranged = _arranged_in_this_transaction()
    cards = incident.card_messages
    if not cards or incident.id in arranged:
        return
    arranged.add(incident.id)
    waiting = set(
        db.session.scalars(
            select(Delivery.card_message_id).where(
                Delivery.incident_id == incident.id,
                Delivery.kind == DeliveryKind.UPDATE_CARD,
                Delivery.status == DeliveryStatus.PENDING,
            )
        )
    )
    due = utcnow() + REDRAW_EVERY
    for card in cards:
        if card.id not in waiting:
            _redraw_row(incident, card, due)


def _arranged_in_this_transaction() -> set[int]:
    """Incidents whose redraws this transaction already arranged: a body of 100 alerts asks
    the database once per incident, not once per alert."""
    transaction = db.session().get_transaction()
    memo = db.session.info.get("redraws")
    if memo is None or memo[0] is not transaction:
        memo = (transaction, set())
        db.session.info["redraws"] = memo
    arranged: set[int] = memo[1]
    return arranged


def _redraw_row(incident: Incident, card: CardMessage, due: datetime) -> Delivery:
    return outbox.enqueue(
        DeliveryKind.UPDATE_CARD,
        card.integration_id,
        incident_id=incident.id,
        receive_id_type=card.receive_id_type,
        receive_id=card.receive_id,
        card_message_id=card.id,
        message_id=card.message_id,
        next_attempt_at=due,
    )


# -- escalation, run by the worker when an `escalate` row falls due ------------------------


def escalate(row: Delivery, now: datetime) -> str:
    """Tell the row's layer if the incident is still unacknowledged. Returns the outcome.

    "escalated", "cancelled" (acknowledged, closed, rule gone) or "snoozed" (the row now
    waits for the end of the snooze). The caller commits.
    """
    incident = db.session.get(Incident, row.incident_id) if row.incident_id else None
    rule = db.session.get(DispatchRule, int((row.payload or {}).get("rule_id") or 0))
    if incident is None or rule is None or row.layer >= len(rule.layers):
        return _end(row, DeliveryStatus.CANCELLED, "rule_gone")
    if incident.status is not Status.TRIGGERED:
        return _end(row, DeliveryStatus.CANCELLED, "acknowledged")
    if incident.silence_id is not None:  # its silence's end pages it again
        return _end(row, DeliveryStatus.CANCELLED, "silenced")
    if incident.is_snoozed(now) and incident.snoozed_until is not None:
        row.next_attempt_at = incident.snoozed_until
        row.last_error = "snoozed; escalation resumes when the snooze ends"
        return "snoozed"
    nobody = tell_layer(incident, rule, row.layer)
    incidents.record(incident, Actor.system(), EventKind.ESCALATED, {"layer": row.layer + 1})
    schedule_escalation(incident, rule, row.layer + 1, now, at_once=nobody)
    return _end(row, DeliveryStatus.DELIVERED, None, now)


def _end(
    row: Delivery, status: DeliveryStatus, reason: str | None, now: datetime | None = None
) -> str:
    row.status = status
    row.reason = reason
    row.delivered_at = now
    return "escalated" if status is DeliveryStatus.DELIVERED else "cancelled"


def _enabled_integrations(account_id: int) -> list[LarkIntegration]:
    return list(
        db.session.scalars(
            select(LarkIntegration)
            .where(LarkIntegration.account_id == account_id, LarkIntegration.enabled.is_(True))
            .order_by(LarkIntegration.id)
        )
    )
