"""REST API v1, silences: made, listed, read and ended through the silence service."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select

from tests.api_support import call, token_of
from tests.factories import Persona
from tests.silences_support import firing, pages, paging_channel, post
from webapp.extensions import db
from webapp.models import AuditEntry, Silence, TokenScope, utcnow

BODY = {"matchers": [{"name": "alertname", "value": "DiskFull"}], "minutes": 120, "comment": "swap"}


def test_a_silence_made_through_the_api_holds_and_its_end_pages(
    client: FlaskClient, owner: Persona
) -> None:
    _, source = paging_channel(owner)
    secret = token_of(owner, name="deploy-bot")

    made = call(client, "POST", "/silences", secret, BODY)

    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["state"] == "active" and body["matchers"] == ['alertname="DiskFull"']
    assert body["created_by"] == "deploy-bot"
    incident = post(client, source, firing())
    assert incident.silence_id == body["id"] and pages(incident) == []
    listed = call(client, "GET", "/silences?state=active", secret).get_json()["items"]
    assert [s["id"] for s in listed] == [body["id"]]

    ended = call(client, "POST", f"/silences/{body['id']}/expire", secret)

    assert ended.status_code == 200 and ended.get_json()["state"] == "expired"
    assert len(pages(incident)) == 2
    [made_line, ended_line] = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
    assert (made_line.actor, made_line.source, ended_line.action) == (
        "deploy-bot",
        "api",
        "silence_expired",
    )


def test_bad_matchers_are_422_naming_the_field_and_save_nothing(
    client: FlaskClient, owner: Persona
) -> None:
    secret = token_of(owner)
    regex = {**BODY, "matchers": [{"name": "job", "value": "(", "is_regex": True}]}
    empty = {**BODY, "matchers": [{"name": "env", "value": "prod", "is_equal": False}]}
    for body in (regex, empty, {**BODY, "matchers": []}):
        refused = call(client, "POST", "/silences", secret, body)
        assert refused.status_code == 422
        assert "matchers" in str(refused.get_json()["errors"])
    assert db.session.scalars(select(Silence)).all() == []


def test_read_tokens_read_and_other_accounts_get_404(
    client: FlaskClient, owner: Persona, outsider: Persona
) -> None:
    made = call(client, "POST", "/silences", token_of(owner), BODY).get_json()
    reader = token_of(owner, TokenScope.READ)
    theirs = token_of(outsider)

    assert call(client, "GET", f"/silences/{made['id']}", reader).get_json()["comment"] == "swap"
    assert call(client, "POST", "/silences", reader, BODY).status_code == 403
    assert call(client, "GET", f"/silences/{made['id']}", theirs).status_code == 404
    assert call(client, "POST", f"/silences/{made['id']}/expire", theirs).status_code == 404
    silence = db.session.get(Silence, made["id"])
    assert silence is not None and silence.ends_at - utcnow() > timedelta(hours=1)
