"""The demo pages for real: a Critical alert to the demo's intake rings whoever is on call
(an urgent_app call on the card they were sent), with no configuration beyond `demo load`,
and pressing Acknowledge on that card stops the phone buzz that would follow."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.test_outbox import later
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.models import Account, LarkBinding, Schedule, utcnow
from webapp.oncall.targets import on_call_members
from webapp.sandbox.handle import LarkSandbox


def test_a_critical_demo_alert_buzzes_the_person_on_call_and_acknowledge_stops_the_rest(
    app: Flask, client: FlaskClient, lark: LarkSandbox, live_server: str
) -> None:
    assert app.test_cli_runner().invoke(args=["demo", "load"]).exit_code == 0
    lark.app().configure(card_request_url=f"{live_server}/lark/demo/card")
    account = db.session.scalars(select(Account)).one()
    schedule = db.session.scalars(select(Schedule)).one()
    [(person, _schedule)], _empty = on_call_members(account.id, [schedule.id], utcnow())
    open_id = db.session.scalars(
        select(LarkBinding.open_id).where(LarkBinding.member_id == person.id)
    ).one()

    answer = client.post(
        "/api/v1/alerts/demo-generic-3d7b15",
        json={"title": "db-01 is down", "severity": "critical", "dedup_key": "demo-buzz"},
    )
    assert answer.status_code in (200, 201, 202), answer.get_data(as_text=True)
    outbox.run_once()

    [card] = lark.messages_to(open_id)
    [buzz] = lark.calls("*/urgent_app", "PATCH")
    assert buzz.path == f"/open-apis/im/v1/messages/{card.message_id}/urgent_app"
    assert buzz.body == {"user_id_list": [open_id]}
    assert lark.click(card.message_id, open_id, button="认领").ok  # Acknowledge

    later(6 * 60)
    assert lark.calls("*/urgent_phone", "PATCH") == []
