"""What one card button press costs the database: a handful of statements, one commit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from tests import test_card_callbacks as callbacks
from tests.factories import Persona
from tests.test_card_callbacks import MESSAGE_ID, OPEN_ID, signed_v2, v2_payload, value
from webapp.cards import receipts as card_receipts
from webapp.cards.actions import CardAction
from webapp.extensions import db
from webapp.models import CardMessage, Delivery, Incident, LarkIntegration, Status, utcnow

# The card callback tests' fixtures: an integration, its bound owner, an incident.
integration = callbacks.integration
bound = callbacks.bound
incident = callbacks.incident


@pytest.fixture(autouse=True)
def patient(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests count statements: a busy test machine must not send the press down the
    "being applied" path (tests/test_card_never_late.py covers that path)."""
    monkeypatch.setitem(app.config, "CARD_ANSWER_BY_S", 60.0)
    # One press in a hundred also clears old receipts (one more DELETE): not the press's cost,
    # and tests/test_card_callbacks.py covers it.
    monkeypatch.setattr(card_receipts, "_prune_now", lambda: False)


@dataclass
class Statements:
    sql: list[str] = field(default_factory=list)
    commits: int = 0


@contextmanager
def counted() -> Iterator[Statements]:
    seen = Statements()
    engine = db.engine

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.sql.append(statement)

    def on_commit(conn: Any) -> None:
        seen.commits += 1

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_commit)


def _cards(integration: LarkIntegration, incident: Incident) -> None:
    """The pressed card in the presser's direct chat, and a copy in a group."""
    for message_id, id_type, receive_id in (
        (MESSAGE_ID, "open_id", OPEN_ID),
        ("om_g", "chat_id", "oc_g"),
    ):
        db.session.add(
            CardMessage(
                integration_id=integration.id,
                incident_id=incident.id,
                message_id=message_id,
                receive_id_type=id_type,
                receive_id=receive_id,
                rendered_version=1,
            )
        )
    # An integration that has been receiving presses: its evidence is written once a minute.
    integration.tenant_key = "tenant-1"
    integration.last_callback_at = utcnow()
    db.session.commit()


def test_an_acknowledge_press_costs_at_most_ten_statements_and_one_commit(
    client: FlaskClient, integration: LarkIntegration, bound: Persona, incident: Incident
) -> None:
    incident.assignees.append(bound.member)  # dispatch assigned it; the press only claims it
    _cards(integration, incident)
    sent = signed_v2(v2_payload(value(CardAction.ACKNOWLEDGE, incident)))
    path = f"/lark/{integration.key}/card"
    with counted() as seen:
        answer = client.post(path, data=sent.body, headers=sent.headers).get_json()
    assert answer["toast"]["i18n"]["en_us"] == f"Incident #{incident.number} acknowledged."
    assert '"a": "unack"' in json.dumps(answer["card"]["data"])
    # Ten: one looks up the account's webhook endpoints for the timeline event, one is the
    # UPDATE that stops the ladder's buzzes and the escalations.
    assert len(seen.sql) <= 10, "\n\n".join(seen.sql)
    assert sum(sql.startswith("UPDATE delivery SET status") for sql in seen.sql) == 1
    assert seen.commits == 1
    # Everything the press promises was in that one commit: the change, its timeline
    # event, the group card's redraw in the outbox, and the answer kept for a repeat.
    db.session.expire_all()
    assert db.session.get(Incident, incident.id).status is Status.PROCESSING
    [update] = db.session.scalars(select(Delivery).where(Delivery.kind == "update_card")).all()
    assert update.message_id == "om_g"
    again = client.post(path, data=sent.body, headers=sent.headers).get_json()
    assert again == answer


def test_a_refused_stale_press_costs_no_more_than_a_successful_one(
    client: FlaskClient, integration: LarkIntegration, bound: Persona, incident: Incident
) -> None:
    _cards(integration, incident)
    old = value(CardAction.ACKNOWLEDGE, incident)
    first = signed_v2(v2_payload(value(CardAction.RESOLVE, incident)))
    path = f"/lark/{integration.key}/card"
    client.post(path, data=first.body, headers=first.headers)
    stale = signed_v2(v2_payload(old))
    with counted() as seen:
        answer = client.post(path, data=stale.body, headers=stale.headers).get_json()
    assert answer["toast"]["type"] == "warning"
    assert "Already resolved by" in answer["toast"]["i18n"]["en_us"]
    assert len(seen.sql) <= 8, "\n\n".join(seen.sql)
    assert seen.commits == 1


def test_claiming_an_unassigned_incident_adds_one_insert_for_the_assignee(
    client: FlaskClient, integration: LarkIntegration, bound: Persona, incident: Incident
) -> None:
    _cards(integration, incident)
    sent = signed_v2(v2_payload(value(CardAction.ACKNOWLEDGE, incident)))
    path = f"/lark/{integration.key}/card"
    with counted() as seen:
        client.post(path, data=sent.body, headers=sent.headers)
    # The acknowledge press (ten) and the assignee row.
    assert len(seen.sql) <= 11, "\n\n".join(seen.sql)
    assert any(sql.startswith("INSERT INTO incident_assignee") for sql in seen.sql)
    assert seen.commits == 1
    db.session.expire_all()
    assert [m.id for m in db.session.get(Incident, incident.id).assignees] == [bound.member.id]
