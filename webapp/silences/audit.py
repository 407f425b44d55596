"""The account's audit trail of silences and windows: who made, changed or ended what."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from webapp.extensions import db
from webapp.incidents.service import Actor
from webapp.models import AuditEntry, utcnow

SHOWN = 50  # the admin page lists the newest lines


def record(
    account_id: int, actor: Actor, action: str, subject: str, details: dict[str, Any], who: str
) -> AuditEntry:
    """One line, in the caller's transaction. `who` names an actor without a member (the
    API token's name, Alertmanager's createdBy)."""
    entry = AuditEntry(
        account_id=account_id,
        member_id=actor.member.id if actor.member else None,
        actor=(actor.member.name if actor.member else who)[:120],
        source=actor.source.value,
        action=action,
        subject=subject[:64],
        details=details,
        created_at=utcnow(),
    )
    db.session.add(entry)
    return entry


def newest(account_id: int, limit: int = SHOWN) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.account_id == account_id)
            .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
    )
