"""Several workers on one PostgreSQL queue: each row is claimed, and sent, exactly once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests import factories
from tests.factories import Persona
from tests.test_dispatch import bind, rule
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.models import Delivery, DeliveryStatus, utcnow
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox

SEND = "/open-apis/im/v1/messages"


def _pending() -> int:
    """Rows left to send, leaving out a ladder's later steps (due minutes from now)."""
    later_step = (Delivery.kind == "buzz") & (
        Delivery.next_attempt_at > utcnow() + timedelta(minutes=1)
    )
    count = db.session.scalar(
        select(func.count()).where(Delivery.status == DeliveryStatus.PENDING, ~later_step)
    )
    db.session.rollback()
    return int(count or 0)


def _worker(app: Flask, errors: list[BaseException]) -> None:
    deadline = time.monotonic() + 60
    with app.app_context():
        try:
            while _pending() and time.monotonic() < deadline:
                if outbox.run_once(batch=5) == 0:
                    time.sleep(0.05)
        except BaseException as exc:  # surfaced by the test, not lost in the thread
            errors.append(exc)
        finally:
            db.session.remove()


@pytest.mark.postgres_only
def test_two_workers_never_send_the_same_row_twice(
    app: Flask, owner: Persona, member: Persona, lark: LarkSandbox
) -> None:
    integration = factories.lark_integration(owner.account)
    bind(integration, owner.member, seed.LI_LEI.open_id)
    bind(integration, member.member, seed.HAN_MEIMEI.open_id)
    channel = factories.channel(owner.account, [owner.member, member.member])
    rule(channel, integration, [{"assignees": True, "chat_ids": [seed.ONCALL_CHAT.chat_id]}])
    for _ in range(8):
        factories.incident(owner.account, ch=channel, assignees=[owner.member, member.member])
    db.session.remove()

    errors: list[BaseException] = []
    threads = [threading.Thread(target=_worker, args=(app, errors)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    statuses = Counter(db.session.execute(select(Delivery.kind, Delivery.status)).tuples())
    # 16 cards to people and 8 to the chat; each person's card buzzed in the app once, and
    # the Critical ladder's phone buzz 5 minutes later still waiting.
    assert statuses == {
        ("send_card", DeliveryStatus.DELIVERED): 24,
        ("buzz", DeliveryStatus.DELIVERED): 16,
        ("buzz", DeliveryStatus.PENDING): 16,
    }
    sends = Counter(call.body["uuid"] for call in lark.calls(SEND, "POST"))
    assert len(sends) == 24
    assert set(sends.values()) == {1}  # no retries either: Lark never refused a call
    buzzed = Counter(call.path for call in lark.calls("*/urgent_app", "PATCH"))
    assert len(buzzed) == 16 and set(buzzed.values()) == {1}
