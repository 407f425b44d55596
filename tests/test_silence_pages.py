"""The admin's silences and windows page: lists, forms, refusals, and who may use it."""

from __future__ import annotations

import re
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select

from tests import factories
from tests.conftest import csrf_token, sign_in
from tests.factories import Persona
from tests.silences_support import silence
from webapp.extensions import db
from webapp.models import AuditEntry, MaintenanceWindow, Silence, utcnow

PAGE = "/admin/silences/"


def test_the_page_lists_silences_by_state_with_who_made_them(
    client: FlaskClient, owner: Persona
) -> None:
    active = silence(owner, comment="db switchover")
    silence(owner, 'job=~"node.*"', starts_in=timedelta(hours=3), comment="kernel upgrade")
    sign_in(client, owner)

    html = client.get(PAGE).get_data(as_text=True)

    assert f'id="silence-{active.id}"' in html
    active_part = html.split('id="silences-pending"')[0]
    assert "db switchover" in active_part and "alertname=&#34;DiskFull&#34;" in active_part
    assert owner.member.name in active_part
    assert (
        "kernel upgrade" in html.split('id="silences-pending"')[1].split('id="silences-expired"')[0]
    )
    assert "No window booked" in html


def test_an_admin_makes_edits_and_ends_a_silence_from_the_page(
    client: FlaskClient, owner: Persona
) -> None:
    sign_in(client, owner)
    token = csrf_token(client, PAGE)

    made = client.post(
        PAGE,
        data={
            "csrf_token": token,
            "matchers": 'alertname="DiskFull"\nenv=prod',
            "hours": "2",
            "comment": "switchover",
        },
    )
    assert made.status_code == 303
    [row] = db.session.scalars(select(Silence))
    assert [m["name"] for m in row.matchers] == ["alertname", "env"]

    later = (row.ends_at + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")  # the admin: UTC
    edited = client.post(
        f"{PAGE}{row.id}/edit", data={"csrf_token": token, "ends": later, "comment": "longer"}
    )
    assert edited.status_code == 303
    db.session.refresh(row)
    assert row.comment == "longer"

    ended = client.post(f"{PAGE}{row.id}/expire", data={"csrf_token": token})
    assert ended.status_code == 303
    db.session.refresh(row)
    assert row.state(utcnow()) == "expired"
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["silence_created", "silence_changed", "silence_expired"]
    assert "ended a silence" in client.get(PAGE).get_data(as_text=True)


def test_a_bad_silence_or_window_is_refused_with_the_fields_named(
    client: FlaskClient, owner: Persona
) -> None:
    sign_in(client, owner)
    token = csrf_token(client, PAGE)

    refused = client.post(
        PAGE, data={"csrf_token": token, "matchers": 'job=~"("', "hours": "2", "comment": ""}
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "invalid regular expression" in html and "Say why" in html

    window = client.post(
        f"{PAGE}windows",
        data={
            "csrf_token": token,
            "name": "",
            "date": "2000-01-01",
            "time": "22:00",
            "minutes": "0",
            "timezone": "Mars/Base",
        },
    )
    assert window.status_code == 422
    assert 'id="w-zone-errors"><li>' in window.get_data(as_text=True)
    assert db.session.scalars(select(Silence)).all() == []
    assert db.session.scalars(select(MaintenanceWindow)).all() == []


def test_an_admin_books_a_weekly_window_and_sees_its_next_occurrences(
    client: FlaskClient, owner: Persona
) -> None:
    channel = factories.channel(owner.account, [owner.member], name="Payments")
    sign_in(client, owner)
    token = csrf_token(client, PAGE)
    first_day = (utcnow() + timedelta(days=2)).date().isoformat()

    booked = client.post(
        f"{PAGE}windows",
        data={
            "csrf_token": token,
            "name": "Nightly batch",
            "channel_id": str(channel.id),
            "date": first_day,
            "time": "22:00",
            "minutes": "90",
            "timezone": "Asia/Shanghai",
            "weekly": "on",
            "page_at_end": "on",
        },
    )

    assert booked.status_code == 303
    html = client.get(PAGE).get_data(as_text=True)
    row = html.split('id="window-')[1].split("</tr>")[0]
    assert "Nightly batch" in row and "Payments" in row and "Asia/Shanghai" in row
    # The next three, in the admin's zone (UTC here): 22:00 in Shanghai is 14:00 UTC.
    assert len(re.findall(r"\d{4}-\d{2}-\d{2} 14:00", row)) == 3


def test_members_get_403_and_another_accounts_silence_is_404(
    client: FlaskClient, owner: Persona, member: Persona, outsider: Persona
) -> None:
    theirs = silence(outsider)
    sign_in(client, member)
    assert client.get(PAGE).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account/security")})
    sign_in(client, owner)
    token = csrf_token(client, PAGE)
    assert client.post(f"{PAGE}{theirs.id}/expire", data={"csrf_token": token}).status_code == 404
    assert db.session.get(Silence, theirs.id).state(utcnow()) == "active"
    assert (
        client.post(PAGE, data={"matchers": "a=b", "hours": "2", "comment": "x"}).status_code == 400
    )
