"""A press is answered in time for Lark even when it cannot finish in time: it is told the
action is being applied, and the card it was pressed on is redrawn through the outbox."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from tests import test_card_callbacks as callbacks
from tests.conftest import is_postgres
from tests.factories import Persona
from tests.test_card_callbacks import MESSAGE_ID, OPEN_ID, signed_v2, v2_payload, value
from webapp.cardkit.answer import Answer
from webapp.cards import late as card_late
from webapp.cards.actions import CardAction
from webapp.extensions import db
from webapp.models import CardMessage, Delivery, Incident, LarkIntegration, Status

# The card callback tests' fixtures: an integration, its bound owner, an incident.
integration = callbacks.integration
bound = callbacks.bound
incident = callbacks.incident


@pytest.fixture
def short_budget(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The budget is chosen, not measured: a press blocked past it must not wait for it."""
    monkeypatch.setitem(app.config, "CARD_ANSWER_BY_S", 0.2)


@contextmanager
def held(incident_id: int) -> Iterator[None]:
    """Another connection holds what the press needs: the incident's row (PostgreSQL), or
    the database's write lock (SQLite), until the block ends."""
    if is_postgres():
        conn = db.engine.connect()
        conn.execute(text("SELECT id FROM incident WHERE id = :id FOR UPDATE"), {"id": incident_id})
        try:
            yield
        finally:
            conn.rollback()
            conn.close()
        return
    raw = sqlite3.connect(str(db.engine.url.database), isolation_level=None, timeout=10)
    raw.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        raw.execute("ROLLBACK")
        raw.close()


def _pressed_card(integration: LarkIntegration, incident: Incident) -> None:
    db.session.add(
        CardMessage(
            integration_id=integration.id,
            incident_id=incident.id,
            message_id=MESSAGE_ID,
            receive_id_type="open_id",
            receive_id=OPEN_ID,
            rendered_version=1,
        )
    )
    db.session.commit()


@pytest.mark.usefixtures("short_budget")
def test_a_press_held_up_past_its_budget_is_told_it_is_being_applied_then_finishes(
    client: FlaskClient, integration: LarkIntegration, bound: Persona, incident: Incident
) -> None:
    _pressed_card(integration, incident)
    sent = signed_v2(v2_payload(value(CardAction.ACKNOWLEDGE, incident)))
    path = f"/lark/{integration.key}/card"
    with held(incident.id):
        answer = client.post(path, data=sent.body, headers=sent.headers).get_json()
        assert answer["toast"]["type"] == "info"
        assert "being applied" in answer["toast"]["i18n"]["en_us"]
        assert answer["toast"]["i18n"]["zh_cn"] == "正在执行您的操作，卡片稍后更新。"
        assert "card" not in answer  # the card is left as it is until the outbox redraws it
    card_late.wait_idle()
    db.session.expire_all()
    assert db.session.get(Incident, incident.id).status is Status.PROCESSING
    [redraw] = db.session.scalars(select(Delivery).where(Delivery.kind == "update_card")).all()
    assert redraw.message_id == MESSAGE_ID
    # Lark retrying the same delivery now gets the full answer the press arrived at.
    again = client.post(path, data=sent.body, headers=sent.headers).get_json()
    assert again["toast"]["i18n"]["en_us"] == f"Incident #{incident.number} acknowledged."
    assert '"a": "unack"' in json.dumps(again["card"])


def test_the_handoff_gives_the_answer_to_whoever_decides_first() -> None:
    answer = Answer(toast={"type": "success"}, card={}, outcome="ok")
    on_time = card_late.Handoff()
    assert on_time.deliver(answer) is True
    assert on_time.wait(0) is answer
    assert not on_time.gave_up()  # the press's own answer went out: no redraw is needed
    late = card_late.Handoff()
    assert late.wait(0) is None
    assert late.gave_up()
    assert late.deliver(answer) is False  # the request answered without it: redraw
