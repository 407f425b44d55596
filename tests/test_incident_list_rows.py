"""The list's rows are drawn once for what they show: whatever a row shows changes, by an
incident change or not, the next render draws it anew, and a remembered row reads exactly
as a freshly drawn one."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, g
from flask.testing import FlaskClient

from tests import factories
from tests.incident_pages_support import enter, integration
from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.models import Incident, LarkIntegration, Source, utcnow

HX = {"HX-Request": "true"}


def row_of(client: FlaskClient, lark: LarkIntegration, incident: Incident) -> str:
    """The row as the list draws it now (a full render: no tag is sent)."""
    db.session.expire_all()
    g.pop("incident_labels", None)  # the test's app context outlives each request
    page = client.get(f"/lark/{lark.key}/incidents?scope=all", headers=HX).get_data(as_text=True)
    found = re.search(rf'<tr id="incident-{incident.number}".*?</tr>', page, re.S)
    assert found, f"#{incident.number} is not on the list"
    return found.group(0)


def new_york_offset() -> str:
    """ "UTC-4" in summer (daylight saving time), "UTC-5" in winter: the test's moment says."""
    offset = utcnow().astimezone(ZoneInfo("America/New_York")).utcoffset()
    assert offset is not None
    return f"UTC{int(offset.total_seconds() // 3600):+d}"


def setup(client: FlaskClient, owner: factories.Persona) -> tuple[LarkIntegration, Incident]:
    lark = integration(owner.account)
    enter(client, owner, lark)
    ch = factories.channel(owner.account, [owner.member], name="Payments")
    made = factories.incident(owner.account, "db-01 is down", ch=ch, assignees=[owner.member])
    made.created_at = utcnow() - timedelta(hours=3)
    db.session.commit()
    return lark, made


def test_a_remembered_row_reads_as_one_drawn_anew(
    app: Flask, client: FlaskClient, owner: factories.Persona
) -> None:
    lark, made = setup(client, owner)
    first = row_of(client, lark, made)
    again = row_of(client, lark, made)
    app.extensions["list_rows"].clear()
    assert again == first == row_of(client, lark, made)
    assert "Payments" in first and owner.member.name in first and "3 hours ago" in first


def test_renamed_people_and_channels_show_without_an_incident_change(
    client: FlaskClient, owner: factories.Persona
) -> None:
    lark, made = setup(client, owner)
    assert "Payments" in row_of(client, lark, made)
    made.channel.name = "Payments EU"
    owner.member.name = "Ada Lovelace"
    db.session.commit()
    row = row_of(client, lark, made)
    assert "Payments EU" in row and "Ada Lovelace" in row


def test_a_lost_seat_a_language_and_a_time_zone_redraw_the_row(
    client: FlaskClient, owner: factories.Persona
) -> None:
    lark, made = setup(client, owner)
    assert "disabled" not in row_of(client, lark, made)
    owner.member.has_seat = False
    db.session.commit()
    assert "disabled" in row_of(client, lark, made)
    owner.member.locale = "zh"
    db.session.commit()
    row = row_of(client, lark, made)
    assert "3小时前" in row and "待处理" in row and ">Resolve<" not in row
    owner.member.timezone = "America/New_York"
    db.session.commit()
    assert new_york_offset() in row_of(client, lark, made)


def test_a_change_and_the_passing_time_redraw_the_row(
    client: FlaskClient, owner: factories.Persona, clock: Any
) -> None:
    lark, made = setup(client, owner)
    assert "Acknowledge" in row_of(client, lark, made)
    incidents.snooze(made, Actor(owner.member, Source.WEB), 30)
    snoozed = row_of(client, lark, made)
    assert "st-Snoozed" in snoozed and "Unsnooze" in snoozed
    clock.shift(timedelta(minutes=31))  # the snooze runs out; nothing was written
    row = row_of(client, lark, made)
    assert "st-Snoozed" not in row and ">Acknowledge<" in row
    assert "4 hours ago" in row
