"""License seats: usage as a bar and in words, assigning and releasing, refused members."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient

from tests import factories
from tests.conftest import csrf_token, sign_in
from webapp.extensions import db
from webapp.identity import licensing
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.models import LicenseRefusal, Source, utcnow


def post(client: FlaskClient, path: str, data: dict[str, Any], **kw: Any) -> Any:
    token = csrf_token(client, "/admin/license")
    return client.post(path, data={**data, "csrf_token": token}, **kw)


def test_the_license_page_has_a_stable_address(app: Flask) -> None:
    with app.test_request_context():
        assert url_for("admin.license_page") == "/admin/license"


def test_an_admin_sees_seats_used_and_allowed_as_a_bar_and_in_words(
    client: FlaskClient, owner: factories.Persona, member: factories.Persona
) -> None:
    factories.persona("member", account=owner.account, seat=False)
    sign_in(client, owner)
    page = client.get("/admin/license").get_data(as_text=True)
    assert "2 of 10 seats in use" in page
    assert 'role="meter"' in page and 'aria-valuenow="2"' in page and 'aria-valuemax="10"' in page
    assert owner.member.name in page and member.member.name in page
    assert "Assign a seat" in page and "Release" in page


def test_assigning_beyond_the_seats_bought_is_refused_with_a_clear_message(
    client: FlaskClient, owner: factories.Persona
) -> None:
    owner.account.seats_allowed = 1
    db.session.commit()
    waiting = factories.persona("member", account=owner.account, seat=False)
    sign_in(client, owner)
    response = post(client, "/admin/license/assign", {"member_id": waiting.member.id})
    assert response.status_code == 303
    page = client.get("/admin/license").get_data(as_text=True)
    assert "All 1 seats are in use. Release a seat first, or buy more seats." in page
    db.session.refresh(waiting.member)
    assert waiting.member.has_seat is False


def test_releasing_a_seat_lets_another_member_take_it(
    client: FlaskClient, owner: factories.Persona, member: factories.Persona
) -> None:
    owner.account.seats_allowed = 2
    db.session.commit()
    waiting = factories.persona("member", account=owner.account, seat=False)
    sign_in(client, owner)
    post(client, "/admin/license/release", {"member_id": member.member.id})
    response = post(
        client,
        "/admin/license/assign",
        {"member_id": waiting.member.id},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert 'id="seats"' in response.get_data(as_text=True)
    assert "<html" not in response.get_data(as_text=True)
    toast = json.loads(response.headers["HX-Trigger"])["toast"]
    assert toast["kind"] == "success" and waiting.member.name in toast["message"]
    db.session.expire_all()
    assert (member.member.has_seat, waiting.member.has_seat) == (False, True)


def test_an_htmx_assignment_beyond_the_seats_answers_409_with_an_error_toast(
    client: FlaskClient, owner: factories.Persona, member: factories.Persona
) -> None:
    owner.account.seats_allowed = 2
    db.session.commit()
    waiting = factories.persona("member", account=owner.account, seat=False)
    sign_in(client, owner)
    response = post(
        client,
        "/admin/license/assign",
        {"member_id": waiting.member.id},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 409
    assert json.loads(response.headers["HX-Trigger"])["toast"]["kind"] == "error"


def test_an_admin_cannot_touch_the_seat_of_another_accounts_member(
    client: FlaskClient, owner: factories.Persona, outsider: factories.Persona
) -> None:
    sign_in(client, owner)
    response = post(client, "/admin/license/release", {"member_id": outsider.member.id})
    assert response.status_code == 404
    db.session.refresh(outsider.member)
    assert outsider.member.has_seat is True


def test_a_member_sees_a_read_only_page_that_says_whom_to_ask(
    client: FlaskClient, owner: factories.Persona
) -> None:
    seatless = factories.persona("member", account=owner.account, seat=False)
    sign_in(client, seatless)
    page = client.get("/admin/license").get_data(as_text=True)
    assert "You have no license seat" in page
    assert owner.member.name in page and owner.member.email in page
    assert "Assign a seat" not in page
    response = post(client, "/admin/license/assign", {"member_id": seatless.member.id})
    assert response.status_code == 403


def test_members_refused_for_lack_of_a_seat_in_the_last_30_days_are_listed(
    client: FlaskClient, owner: factories.Persona
) -> None:
    seatless = factories.persona("member", account=owner.account, seat=False)
    long_ago = factories.persona("member", account=owner.account, seat=False)
    incident = factories.incident(owner.account, assignees=[seatless.member])
    for source in (Source.CARD, Source.WEB):
        with pytest.raises(incidents.NoSeat):
            incidents.acknowledge(incident, Actor(seatless.member, source))
    db.session.add(
        LicenseRefusal(
            account_id=owner.account.id,
            member_id=long_ago.member.id,
            source="card",
            action="act",
            created_at=utcnow() - timedelta(days=31),
        )
    )
    db.session.commit()
    refused = licensing.recent_refusals(owner.account)
    assert [(r.member.id, r.attempts) for r in refused] == [(seatless.member.id, 2)]
    assert sorted(refused[0].sources) == ["card", "web"]
    sign_in(client, owner)
    page = client.get("/admin/license").get_data(as_text=True)
    assert seatless.member.name in page
    assert "Lark card" in page
