"""The list region's 15-second refresh: 304 while nothing it shows changed, gzip when asked."""

from __future__ import annotations

import gzip
from datetime import timedelta

import flask_babel
import pytest
import time_machine
from flask import template_rendered
from flask.testing import FlaskClient
from sqlalchemy import event

from tests import factories
from tests.incident_pages_support import enter, integration
from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.models import Account, Incident, LarkIntegration, Source, utcnow

HX = {"HX-Request": "true"}


def opened(account: Account, title: str) -> Incident:
    """An incident opened three hours ago: its row reads "3 hours ago" for the whole test
    (one opened now would tick from "1 second ago" to "2 seconds ago" between requests)."""
    made = factories.incident(account, title)
    made.created_at = utcnow() - timedelta(hours=3)
    db.session.commit()
    return made


@pytest.fixture
def lark(client: FlaskClient, owner: factories.Persona) -> LarkIntegration:
    made = integration(owner.account)
    enter(client, owner, made)
    return made


def _list(client: FlaskClient, lark: LarkIntegration, tag: str | None = None, **headers: str):  # type: ignore[no-untyped-def]
    sent = {**HX, **headers}
    if tag:
        sent["If-None-Match"] = tag
    return client.get(f"/lark/{lark.key}/incidents?scope=all", headers=sent)


def test_a_refresh_with_the_tag_of_an_unchanged_list_gets_304_and_no_body(
    client: FlaskClient, lark: LarkIntegration, owner: factories.Persona
) -> None:
    opened(owner.account, "db-01 is down")
    first = _list(client, lark)
    assert first.status_code == 200
    assert "db-01 is down" in first.text
    tag = first.headers["ETag"]
    assert first.headers["Last-Modified"]
    assert "no-cache" in first.headers["Cache-Control"]
    again = _list(client, lark, tag)
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == tag


def test_the_304_is_answered_before_anything_is_rendered(
    client: FlaskClient, lark: LarkIntegration, owner: factories.Persona
) -> None:
    opened(owner.account, "db-01 is down")
    tag = _list(client, lark).headers["ETag"]
    statements: list[str] = []
    rendered: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    def on_render(sender, template, context, **extra) -> None:  # type: ignore[no-untyped-def]
        rendered.append(template.name)

    event.listen(db.engine, "before_cursor_execute", count)
    template_rendered.connect(on_render)
    try:
        assert _list(client, lark, tag).status_code == 304
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
        template_rendered.disconnect(on_render)
    assert rendered == []
    # the signed-in member, the integration and binding, then the one statement of the tag
    assert sum("incident" in s for s in statements) == 1


def test_a_change_to_a_shown_incident_changes_the_tag(
    client: FlaskClient, lark: LarkIntegration, owner: factories.Persona
) -> None:
    shown = opened(owner.account, "db-01 is down")
    tag = _list(client, lark).headers["ETag"]
    incidents.acknowledge(shown, Actor(owner.member, Source.WEB))
    after = _list(client, lark, tag)
    assert after.status_code == 200
    assert after.headers["ETag"] != tag


def test_a_new_incident_changes_the_tag(
    client: FlaskClient, lark: LarkIntegration, owner: factories.Persona
) -> None:
    opened(owner.account, "db-01 is down")
    tag = _list(client, lark).headers["ETag"]
    opened(owner.account, "db-02 is down")
    after = _list(client, lark, tag)
    assert after.status_code == 200
    assert "db-02 is down" in after.text


def test_renamed_people_and_channels_show_on_the_next_refresh_with_the_tag(
    client: FlaskClient, lark: LarkIntegration, owner: factories.Persona
) -> None:
    ch = factories.channel(owner.account, [owner.member], name="Payments")
    shown = factories.incident(owner.account, "db-01 is down", ch=ch, assignees=[owner.member])
    shown.created_at = utcnow() - timedelta(hours=3)
    db.session.commit()
    first = _list(client, lark)
    assert "Payments" in first.text and owner.member.name in first.text
    assert _list(client, lark, first.headers["ETag"]).status_code == 304
    ch.name = "Payments EU"
    owner.member.name = "Ada Lovelace"
    db.session.commit()
    # the page's htmx refresh sends the tag it last got, as the browser's cache does
    after = _list(client, lark, first.headers["ETag"])
    assert after.status_code == 200
    assert "Payments EU" in after.text and "Ada Lovelace" in after.text
    assert after.headers["ETag"] != first.headers["ETag"]
    assert _list(client, lark, after.headers["ETag"]).status_code == 304


def test_another_language_changes_the_tag(
    client: FlaskClient, lark: LarkIntegration, owner: factories.Persona
) -> None:
    opened(owner.account, "db-01 is down")
    owner.member.locale = "en"
    db.session.commit()
    tag = _list(client, lark).headers["ETag"]
    owner.member.locale = "zh"
    db.session.commit()
    flask_babel.refresh()
    after = _list(client, lark, tag)
    assert after.status_code == 200
    assert after.headers["ETag"] != tag
    assert "全部状态" in after.text


def test_the_age_a_row_shows_moving_on_changes_the_tag(
    client: FlaskClient,
    lark: LarkIntegration,
    owner: factories.Persona,
    clock: time_machine.Traveller,
) -> None:
    recent = factories.incident(owner.account, "db-01 is down")
    recent.created_at = utcnow() - timedelta(minutes=10)
    db.session.commit()
    first = _list(client, lark)
    assert "10 minutes ago" in first.text
    assert _list(client, lark, first.headers["ETag"]).status_code == 304
    clock.shift(timedelta(minutes=5))
    later = _list(client, lark, first.headers["ETag"])
    assert later.status_code == 200
    assert "15 minutes ago" in later.text


def test_the_list_is_gzipped_when_the_client_asks(
    client: FlaskClient, lark: LarkIntegration, owner: factories.Persona
) -> None:
    for n in range(20):
        opened(owner.account, f"host-{n} is down")
    plain = _list(client, lark)
    assert "Content-Encoding" not in plain.headers
    packed = _list(client, lark, **{"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data).decode() == plain.text
    assert len(packed.data) * 4 < len(plain.data)
    # the same tag either way, so a gzip client's refresh still gets its 304
    assert packed.headers["ETag"] == plain.headers["ETag"]
    assert (
        _list(client, lark, packed.headers["ETag"], **{"Accept-Encoding": "gzip"}).status_code
        == 304
    )
