""" "Send me a test buzz": a small card to the member, buzzed in the app, through the outbox
like any page; and the evidence that buzzing works (the setup checklist's tick)."""

from __future__ import annotations

from sqlalchemy import Select, select

from webapp import outbox
from webapp.extensions import db
from webapp.identity import bindings
from webapp.models import (
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    LarkIntegration,
    Member,
)
from webapp.paging.ladder import BUZZ_PURPOSE
from webapp.paging.rules import APP


class NotLinked(Exception):
    """The member has no live Lark binding in this integration: nobody to buzz."""


def request_test_buzz(member: Member, integration: LarkIntegration) -> Delivery:
    """Write the test buzz's outbox row and commit; the worker sends the card, then buzzes."""
    binding = bindings.binding_of(integration, member)
    if binding is None:
        raise NotLinked(member.name)
    row = outbox.enqueue(
        DeliveryKind.BUZZ,
        integration.id,
        receive_id_type="open_id",
        receive_id=binding.open_id,
        member_id=member.id,
        payload={"purpose": BUZZ_PURPOSE, "test": True, "via": APP, "target": member.name},
    )
    db.session.commit()
    return row


def last_test(member: Member, integration: LarkIntegration) -> Delivery | None:
    return db.session.scalars(
        _buzzes(integration)
        .where(Delivery.member_id == member.id, Delivery.incident_id.is_(None))
        .order_by(Delivery.id.desc())
        .limit(1)
    ).first()


def buzz_worked(integration: LarkIntegration) -> Delivery | None:
    """The latest buzz Lark accepted for this integration (a page's or a test's), if any."""
    return db.session.scalars(
        _buzzes(integration)
        .where(Delivery.status == DeliveryStatus.DELIVERED)
        .order_by(Delivery.delivered_at.desc())
        .limit(1)
    ).first()


def _buzzes(integration: LarkIntegration) -> Select[tuple[Delivery]]:
    return select(Delivery).where(
        Delivery.integration_id == integration.id, Delivery.kind == DeliveryKind.BUZZ
    )
