"""The ladder in the outbox: one `buzz` row per step after the card, written when a person
is told, stopped by Acknowledge or Resolve (`stop`, whoever acts and from wherever).

Each row names the card it buzzes (the `send_card` row's uuid) and carries the step, so the
worker (webapp/delivery/buzz_kinds.py) needs nothing else to run it, and "Who was told" can
say which rule it came from. Snooze is read when a step falls due: the step waits for the
end of the snooze.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from webapp import outbox
from webapp.extensions import db
from webapp.models import (
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Incident,
    LarkIntegration,
    Member,
)
from webapp.paging.rules import CARD, Ladder, ladder_for

BUZZ_PURPOSE = "buzz"
LADDER_EMAIL = "ladder"  # the e-mail's reason when a ladder's step sends it


def plan(
    incident: Incident,
    integration: LarkIntegration,
    member: Member,
    card: Delivery,
    now: datetime,
    group_cards: list[Delivery] | None = None,
) -> list[Delivery]:
    """Write the steps of `member`'s ladder for this incident's severity after `card` (the
    card sent to them). `group_cards`: the same layer's cards to group chats, buzzed first,
    so the person rings in the chat the policy names."""
    ladder = ladder_for(member, incident.severity.value)
    rows = []
    for index, step in enumerate(ladder.steps):
        if step.via == CARD:
            continue
        row = outbox.enqueue(
            DeliveryKind.BUZZ,
            integration.id,
            incident_id=incident.id,
            receive_id_type=card.receive_id_type,
            receive_id=card.receive_id,
            member=member,
            layer=card.layer,
            now=now,
            next_attempt_at=now + timedelta(minutes=step.after),
            payload=step_payload(ladder, index, card, group_cards or []),
            # Why the row waits, for "every pending row says why" (the outbox's rule).
            last_error=f"step {index + 1}: {step.via} {step.after} min after the card, "
            "if still unacknowledged",
        )
        rows.append(row)
    return rows


def step_payload(
    ladder: Ladder, index: int, card: Delivery, group_cards: list[Delivery]
) -> dict[str, Any]:
    step = ladder.steps[index]
    payload: dict[str, Any] = {
        "purpose": BUZZ_PURPOSE,
        "via": step.via,
        "after": step.after,
        "step": index + 1,
        "severity": ladder.severity,
        "rule": ladder.source,
        "card_uuid": card.uuid,
        "target": (card.payload or {}).get("target") or "",
    }
    if group_cards:
        payload["chat_card_uuids"] = [c.uuid for c in group_cards]
    if ladder.quiet:
        payload["quiet"] = [ladder.quiet_start, ladder.quiet_end]
    return payload


def stop(incident: Incident, why: str) -> int:
    """Cancel every step still waiting for this incident, and the dispatch policy's next
    layers (`escalate` rows); returns how many rows were cancelled.

    The one place paging ends: dispatch calls it on Acknowledge and Resolve, whatever their
    source (card, web, API, an alert that resolved, a silence). One statement for both kinds,
    so a card press costs no more than before."""
    result = db.session.execute(
        update(Delivery)
        .where(
            Delivery.incident_id == incident.id,
            Delivery.kind.in_((DeliveryKind.BUZZ, DeliveryKind.ESCALATE)),
            Delivery.status == DeliveryStatus.PENDING,
        )
        .values(status=DeliveryStatus.CANCELLED, reason=why[:32])
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
