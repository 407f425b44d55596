"""Outbox rows (`Delivery`): the one way to write one, and what every row says about itself,
for the capabilities that write rows and the worker that sends them.

`enqueue` adds a row to the caller's transaction; `enqueue_once` writes it unless a row with
its uuid exists (a rerun, another worker, a repeated event), in one INSERT ... ON CONFLICT
DO NOTHING. Both build the row from `_values`, so every row starts the same way: pending,
due now unless told, no attempt yet, a uuid Lark may de-duplicate on (at most 50 characters).

A low floor: capabilities write outbox rows in the transaction of their change and may not
import the worker (webapp/delivery/), so what both sides need lives here.
"""

from __future__ import annotations

import uuid as uuids
from datetime import datetime
from typing import Any, TypedDict, Unpack

from webapp.extensions import db
from webapp.models import (
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    FailureReason,
    Member,
    dialect_insert,
    utcnow,
)

# Lark's send de-duplicates on `uuid`, at most 50 characters (docs/lark/open-api.md#send).
UUID_MAX = 50

# send_card rows with this purpose are incident notifications (not a war room's card): they
# are the ones still sent when the free edition's quota is used up.
NOTIFY_PURPOSE = "notify"


def notifies(row: Delivery) -> bool:
    """The row is an incident notification."""
    return (row.payload or {}).get("purpose") == NOTIFY_PURPOSE


def target(row: Delivery) -> str:
    """Who or what the row reaches, in words (a person's or chat's name, else its id)."""
    return str((row.payload or {}).get("target") or row.receive_id or "")


class Fields(TypedDict, total=False):
    """The columns a writer may set; the rest start as `_values` says."""

    incident_id: int | None
    receive_id_type: str | None
    receive_id: str | None
    member_id: int | None
    member: Member | None  # the same person as member_id, kept on the new row object
    card_message_id: int | None
    message_id: str | None
    layer: int
    payload: dict[str, Any]
    next_attempt_at: datetime  # due: now unless later (an escalation step)
    now: datetime  # the moment of the change, when the caller has one


def enqueue(
    kind: DeliveryKind,
    integration_id: int,
    uuid: str | None = None,
    *,
    status: DeliveryStatus = DeliveryStatus.PENDING,
    reason: FailureReason | None = None,
    last_error: str | None = None,
    **fields: Unpack[Fields],
) -> Delivery:
    """A new outbox row in the session, written with the caller's change (a fresh uuid
    unless given). A row born failed (nobody to send to) says why in `reason`."""
    values = _values(kind, integration_id, uuid, fields)
    row = Delivery(**values, status=status, reason=reason, last_error=last_error)
    db.session.add(row)
    return row


def enqueue_once(
    kind: DeliveryKind, integration_id: int, uuid: str, **fields: Unpack[Fields]
) -> int | None:
    """The row's id, or None when a row with this uuid was written before (nothing is added)."""
    values = {**_values(kind, integration_id, uuid, fields), "status": DeliveryStatus.PENDING}
    values.pop("member", None)  # a column statement: member_id says who
    stmt = dialect_insert(Delivery).values(**values).on_conflict_do_nothing(index_elements=["uuid"])
    written: int | None = db.session.execute(stmt.returning(Delivery.id)).scalar_one_or_none()
    return written


def _values(
    kind: DeliveryKind, integration_id: int, uuid: str | None, fields: Fields
) -> dict[str, Any]:
    given: dict[str, Any] = dict(fields)
    now = given.pop("now", None) or utcnow()
    if given.get("member") is not None:
        given["member_id"] = given["member"].id
    return {
        "integration_id": integration_id,
        "kind": kind,
        "uuid": (uuid or uuids.uuid4().hex)[:UUID_MAX],
        "next_attempt_at": now,
        "created_at": now,
        "attempts": 0,
        "layer": 0,
        "payload": {},
        **given,
    }
