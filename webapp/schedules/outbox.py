"""The schedules' outbox rows: who a card reaches in Lark, and rows written at most once.

Cards leave through the delivery worker like every other message (webapp/delivery/); these
kinds are not incident notifications, so the free edition's monthly quota holds them back
once it is used up (webapp/delivery/kinds.py `_waits_for_quota`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from webapp import outbox
from webapp.extensions import db
from webapp.identity.bindings import binding_of
from webapp.models import (
    DeliveryKind,
    LarkBinding,
    LarkIntegration,
    Member,
    Schedule,
)


def reach(member: Member) -> tuple[LarkIntegration, LarkBinding] | None:
    """The member's live binding in the first enabled integration of the account that has one."""
    integrations = db.session.scalars(
        select(LarkIntegration)
        .where(LarkIntegration.account_id == member.account_id, LarkIntegration.enabled.is_(True))
        .order_by(LarkIntegration.id)
    )
    for integration in integrations:
        binding = binding_of(integration, member)
        if binding is not None:
            return integration, binding
    return None


def first_integration(account_id: int) -> LarkIntegration | None:
    return db.session.scalars(
        select(LarkIntegration)
        .where(LarkIntegration.account_id == account_id, LarkIntegration.enabled.is_(True))
        .order_by(LarkIntegration.id)
    ).first()


def insert_once(
    integration: LarkIntegration,
    kind: DeliveryKind,
    uuid: str,
    now: datetime,
    *,
    receive: tuple[str, str] | None = None,
    member_id: int | None = None,
    message_id: str | None = None,
    payload: dict[str, Any],
) -> None:
    """One outbox row per `uuid`: a second writer (another worker, a rerun) adds nothing."""
    outbox.enqueue_once(
        kind,
        integration.id,
        uuid,
        receive_id_type=receive[0] if receive else None,
        receive_id=receive[1] if receive else None,
        member_id=member_id,
        message_id=message_id,
        now=now,
        payload=payload,
    )


def page_url(schedule: Schedule) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}/schedules/{schedule.id}"
