"""Every outbox row is written by webapp/outbox.py: `enqueue` adds one to the caller's
transaction, `enqueue_once` skips a uuid already written; the SQL dialect is chosen in one
place (webapp/models/base.py `dialect_insert`)."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select

from tests import factories
from tests.factories import Persona
from webapp import outbox
from webapp.extensions import db
from webapp.models import Delivery, DeliveryKind, DeliveryStatus, utcnow

ROOT = Path(__file__).resolve().parent.parent


def test_a_uuid_is_written_once_whoever_writes_it_again(owner: Persona) -> None:
    integration = factories.lark_integration(owner.account)
    first = outbox.enqueue_once(DeliveryKind.NOTICE, integration.id, "notice-1", receive_id="oc_1")
    again = outbox.enqueue_once(DeliveryKind.NOTICE, integration.id, "notice-1", receive_id="oc_2")
    db.session.commit()
    assert first is not None and again is None
    rows = db.session.scalars(select(Delivery).where(Delivery.uuid == "notice-1")).all()
    assert [(r.receive_id, r.status) for r in rows] == [("oc_1", DeliveryStatus.PENDING)]


def test_a_new_row_starts_pending_and_due_with_a_uuid_lark_accepts(owner: Persona) -> None:
    integration = factories.lark_integration(owner.account)
    row = outbox.enqueue(DeliveryKind.REPLY, integration.id, "x" * 80, receive_id="oc_1")
    fresh = outbox.enqueue(DeliveryKind.REPLY, integration.id, receive_id="oc_1")
    db.session.commit()
    assert len(row.uuid) == outbox.UUID_MAX == 50
    assert fresh.uuid != row.uuid and len(fresh.uuid) <= 50
    assert (row.status, row.attempts, row.layer, row.payload) == (DeliveryStatus.PENDING, 0, 0, {})
    assert row.next_attempt_at <= utcnow()
    counted = db.session.scalar(select(func.count()).select_from(Delivery))
    assert counted == 2


def test_no_module_but_the_outbox_builds_an_outbox_row_or_picks_a_dialect() -> None:
    builds = re.compile(
        r"(?<!class )\bDelivery\(|insert\(Delivery\)|dialect\.insert\(|dialects\.\w+ import insert"
    )
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted(ROOT.glob("webapp/**/*.py"))
        if "sandbox" not in path.parts
        and path.name != "outbox.py"
        and builds.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
