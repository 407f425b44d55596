"""Who falls back when Lark cannot deliver a notification, and to what.

A person Lark cannot reach for an incident (not linked, the quota used up, Lark failing for
more than two minutes on a critical incident) gets one e-mail per incident: an `email`
outbox row, written once (its uuid is the incident and the person), sent by the worker with
the same retries and shown in "Who was told" like any delivery. A chat that cannot be posted
to sends its card to the policy's people directly; when nobody at all was reached, the
channel's members and the account's admins are e-mailed.

These are dispatch's rules: they only write rows (in the caller's transaction); the worker
(webapp/delivery/) sends them and asks here after a failure.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from webapp import mailer, outbox
from webapp.dispatch.matching import layer_members, live_binding_of, matching_rule
from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.models import (
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    EventKind,
    FailureReason,
    Incident,
    LarkIntegration,
    Member,
    Severity,
)
from webapp.outbox import NOTIFY_PURPOSE, notifies, target

# Lark failing this long for a critical incident: the person gets the e-mail too.
CRITICAL_FALLBACK_AFTER = timedelta(minutes=2)
# The reasons a person falls back to e-mail for (any severity).
FALLBACK_REASONS = frozenset(
    {FailureReason.NOT_LINKED, FailureReason.QUOTA}
)  # Lark's answers; NOT_BOUND is ours
NOT_BOUND = "not_bound"  # the member never linked their Lark user (no binding at all)
# The reasons a chat's card goes to its people directly instead.
CHAT_FALLBACK_REASONS = frozenset(
    {FailureReason.BOT_NOT_IN_CHAT, FailureReason.CHAT_GONE, FailureReason.NO_PERMISSION}
)


def after_failure(row: Delivery, incident: Incident, reason: str, now: datetime) -> None:
    """A notification Lark cannot deliver: the person gets an e-mail, a chat's people get the
    card directly (once), and when nobody at all was reached everyone who should know is
    e-mailed."""
    if row.member is not None and reason in FALLBACK_REASONS:
        email(incident, row.member, reason, row.integration_id, now)
    elif row.receive_id_type == "chat_id" and reason in CHAT_FALLBACK_REASONS:
        chat_fell_back(row, incident, reason, now)
    nobody_reached(incident, row.integration_id, reason, now)


def email(
    incident: Incident, member: Member, reason: str, integration_id: int, now: datetime
) -> bool:
    """One e-mail row for this incident and person (True when this call wrote it)."""
    if mailer.settings() is None or not member.email:
        return False
    written = outbox.enqueue_once(
        DeliveryKind.EMAIL,
        integration_id,
        f"email-{incident.id}-{member.id}",
        incident_id=incident.id,
        receive_id_type="email",
        receive_id=member.email,
        member_id=member.id,
        now=now,
        payload={"target": member.email, "purpose": NOTIFY_PURPOSE, "why": reason},
    )
    if written is None:  # written before: one e-mail per incident and person
        return False
    incidents.record(
        incident,
        Actor.system(),
        EventKind.NOTIFICATION_FELL_BACK,
        {"target": member.email, "member_id": member.id, "reason": reason, "to": "email"},
    )
    return True


def lark_failing_long(incident: Incident, first_attempt: datetime, now: datetime) -> bool:
    """Lark has failed a critical incident's card for more than two minutes."""
    critical = incident.severity is Severity.CRITICAL
    return critical and now - first_attempt > CRITICAL_FALLBACK_AFTER


def nobody_reached(incident: Incident, integration_id: int, reason: str, now: datetime) -> None:
    """Every Lark target of the incident failed: the channel's members and the account's
    admins get the e-mail (an incident nobody hears of must not happen)."""
    rows = db.session.scalars(
        select(Delivery).where(
            Delivery.incident_id == incident.id, Delivery.kind == DeliveryKind.SEND_CARD
        )
    )
    if any(r.status is not DeliveryStatus.FAILED for r in rows if notifies(r)):
        return
    people: dict[int, Member] = {}
    if incident.channel is not None:
        people.update((m.id, m) for m in incident.channel.members)
    people.update((m.id, m) for m in incident.account.members if m.is_admin)
    for member in people.values():
        email(incident, member, reason, integration_id, now)


def chat_fell_back(row: Delivery, incident: Incident, reason: str, now: datetime) -> None:
    """The chat cannot be posted to: the policy's people (else the channel's) get the card
    directly, once per incident and person; those not linked get the e-mail."""
    integration = db.session.get(LarkIntegration, row.integration_id)
    if integration is None:
        return
    rule = matching_rule(incident)
    people = []
    if rule is not None and row.layer < len(rule.layers):
        people = layer_members(incident, rule.layers[row.layer])
    if not people and incident.channel is not None:
        people = list(incident.channel.members)
    for member in people:
        binding = live_binding_of(integration, member)
        if binding is None:
            email(incident, member, NOT_BOUND, integration.id, now)
            continue
        outbox.enqueue_once(
            DeliveryKind.SEND_CARD,
            integration.id,
            f"chatfb-{incident.id}-{member.id}",
            incident_id=incident.id,
            receive_id_type="open_id",
            receive_id=binding.open_id,
            member_id=member.id,
            layer=row.layer,
            now=now,
            payload={"target": member.name, "purpose": NOTIFY_PURPOSE, "instead_of": target(row)},
        )
    incidents.record(
        incident,
        Actor.system(),
        EventKind.NOTIFICATION_FELL_BACK,
        {"target": target(row), "reason": reason, "to": [m.name for m in people]},
    )
