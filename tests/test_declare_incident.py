"""The web app's "New incident": a member declares one by hand in one of their channels,
with the people chosen; wrong fields are named and nothing is created."""

from __future__ import annotations

import html
import re

import pytest
from flask.testing import FlaskClient
from flask_babel import refresh
from sqlalchemy import select

from tests import factories
from tests.incident_pages_support import csrf_from, enter, integration
from webapp.extensions import db
from webapp.models import Incident, IncidentEvent, LarkIntegration, Source


@pytest.fixture
def lark(owner: factories.Persona) -> LarkIntegration:
    return integration(owner.account)


def text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def declare(client: FlaskClient, lark: LarkIntegration, **form: object) -> tuple[int, str]:
    new = f"/lark/{lark.key}/incidents/new"
    token = csrf_from(client.get(new).get_data(as_text=True))
    answer = client.post(new, data={"csrf_token": token, **form})
    return answer.status_code, answer.get_data(as_text=True)


def test_the_list_has_a_new_incident_button(
    client: FlaskClient, owner: factories.Persona, lark: LarkIntegration
) -> None:
    enter(client, owner, lark)
    page = client.get(f"/lark/{lark.key}/incidents").get_data(as_text=True)
    assert f'href="/lark/{lark.key}/incidents/new">+ New incident</a>' in page


def test_a_member_declares_in_their_channel_for_the_people_chosen(
    client: FlaskClient,
    owner: factories.Persona,
    member: factories.Persona,
    lark: LarkIntegration,
) -> None:
    channel = factories.channel(owner.account, [member.member], name="Payments")
    enter(client, member, lark)
    status, _page = declare(
        client,
        lark,
        title="Checkout is slow",
        severity="Critical",
        channel_id=channel.id,
        assignee_id=[owner.member.id, member.member.id],
        description="p99 at 3 s",
    )
    assert status == 303
    incident = db.session.scalars(select(Incident)).one()
    assert (incident.title, incident.severity.value, incident.channel_id) == (
        "Checkout is slow",
        "Critical",
        channel.id,
    )
    assert sorted(m.id for m in incident.assignees) == sorted([owner.member.id, member.member.id])
    event = db.session.scalars(select(IncidentEvent).order_by(IncidentEvent.id)).first()
    assert event is not None
    assert (event.kind, event.source, event.actor) == ("triggered", Source.WEB, member.member)
    detail = client.get(f"/lark/{lark.key}/incidents/{incident.number}").get_data(as_text=True)
    assert f"Incident #{incident.number} declared." in text(detail)


def test_wrong_fields_are_named_and_nothing_is_created(
    client: FlaskClient,
    owner: factories.Persona,
    member: factories.Persona,
    outsider: factories.Persona,
    lark: LarkIntegration,
) -> None:
    not_theirs = factories.channel(owner.account, [owner.member], name="Payroll")
    enter(client, member, lark)
    status, page = declare(
        client,
        lark,
        title=" ",
        severity="P9",
        channel_id=not_theirs.id,
        assignee_id=[outsider.member.id],
    )
    assert status == 422
    words = text(page)
    for message in (
        "Give it a title of at most 500 characters.",
        "Choose Critical, Warning or Info.",
        "Choose one of your channels.",
        "Choose people of this account.",
    ):
        assert message in words
    assert "Payroll" not in words  # a member only sees their own channels
    assert db.session.scalars(select(Incident)).all() == []


def test_a_member_without_a_seat_is_told_to_ask_for_one(
    client: FlaskClient, owner: factories.Persona, lark: LarkIntegration
) -> None:
    seatless = factories.persona("member", account=owner.account, seat=False)
    enter(client, seatless, lark)
    status, page = declare(client, lark, title="x", severity="Info")
    assert status == 422
    assert "You have no license seat." in text(page)
    assert db.session.scalars(select(Incident)).all() == []


def test_a_post_without_the_csrf_token_is_refused(
    client: FlaskClient, owner: factories.Persona, lark: LarkIntegration
) -> None:
    enter(client, owner, lark)
    answer = client.post(f"/lark/{lark.key}/incidents/new", data={"title": "x", "severity": "Info"})
    assert answer.status_code == 400
    assert db.session.scalars(select(Incident)).all() == []


def test_the_form_speaks_chinese(
    client: FlaskClient, owner: factories.Persona, lark: LarkIntegration
) -> None:
    owner.member.locale = "zh"
    db.session.commit()
    enter(client, owner, lark)
    refresh()
    page = text(client.get(f"/lark/{lark.key}/incidents/new").get_data(as_text=True))
    assert "新建故障" in page and "New incident" not in page
