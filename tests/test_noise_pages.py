"""A channel's noise reduction page (/admin/channels/<id>/noise): admins edit grouping, storm
thresholds, inhibition and flapping, and a preview counts what grouping would have made of
the last 24 hours of alerts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import time_machine
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import refresh
from sqlalchemy import func, select

from tests import factories
from tests.conftest import csrf_token, sign_in
from tests.factories import Persona
from tests.test_alert_grouping import batch
from tests.test_alert_intake import post
from webapp.extensions import db
from webapp.models import Channel, NoiseRules, utcnow

FORM: dict[str, str] = {
    "group_labels": "alertname, service",
    "window_minutes": "30",
    "close_when_recovered": "1",
    "storm_thresholds": "1000, 10, 100",
    "inhibitions": 'alertname="NodeDown" => severity=~"warning|info" on cluster',
    "flap_enabled": "1",
    "flap_changes": "4",
    "flap_minutes": "60",
    "flap_mute_minutes": "120",
}


def page_of(owner: Persona) -> tuple[Channel, str]:
    channel = factories.channel(owner.account, [owner.member], name="Core Platform")
    return channel, f"/admin/channels/{channel.id}/noise"


def save(client: FlaskClient, path: str, **changes: str) -> Any:
    return client.post(path, data={"csrf_token": csrf_token(client, path), **FORM, **changes})


def rules_count() -> int:
    return db.session.scalar(select(func.count()).select_from(NoiseRules)) or 0


def test_an_existing_channel_groups_nothing_and_detects_flapping_by_default(
    client: FlaskClient, owner: Persona
) -> None:
    _, path = page_of(owner)
    sign_in(client, owner)
    page = client.get(path).get_data(as_text=True)
    assert "Noise reduction of Core Platform" in page
    assert 'name="group_labels" class="previewed" value=""' in page
    assert 'id="f-flap_enabled" name="flap_enabled" value="1" checked' in page
    assert (
        'name="flap_changes" type="number" min="2" max="100" inputmode="numeric" value="4"' in page
    )
    assert "No alerts reached this channel in the last 24 hours" in page


def test_an_admin_saves_every_rule_and_sees_it_back(client: FlaskClient, owner: Persona) -> None:
    channel, path = page_of(owner)
    sign_in(client, owner)
    response = save(client, path)
    assert response.status_code == 303
    rules = db.session.scalars(select(NoiseRules)).one()
    assert rules.channel_id == channel.id
    assert rules.group_by == ["alertname", "service"]
    assert rules.storm_thresholds == [10, 100, 1000]
    assert rules.inhibitions == [
        {
            "source": ["alertname=NodeDown"],
            "target": ["severity=~warning|info"],
            "equal": ["cluster"],
        }
    ]
    page = client.get(path).get_data(as_text=True)
    assert "Noise reduction of Core Platform saved." in page
    assert 'value="10, 100, 1000"' in page
    assert "alertname=NodeDown =&gt; severity=~warning|info on cluster" in page


def test_wrong_fields_are_named_and_nothing_is_stored(client: FlaskClient, owner: Persona) -> None:
    _, path = page_of(owner)
    sign_in(client, owner)
    response = save(
        client,
        path,
        group_labels="a, b, c, d, e, f",
        window_minutes="0",
        storm_thresholds="ten",
        inhibitions="alertname NodeDown",
        flap_changes="1",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Group by at most 5 labels." in page
    assert "A whole number from 1 to 1440." in page
    assert "Up to 5 whole numbers from 2 to 1,000,000" in page
    assert "Line 1 does not read." in page
    assert "A whole number from 2 to 100." in page
    assert 'value="a, b, c, d, e, f"' in page  # what was typed is shown back
    assert rules_count() == 0


def test_the_preview_counts_what_grouping_would_have_made_of_the_last_day(
    client: FlaskClient, owner: Persona, clock: time_machine.Traveller
) -> None:
    channel, path = page_of(owner)
    source = factories.alert_source(owner.account, channel)
    start = utcnow()
    clock.move_to(start - timedelta(hours=25))
    post(client, source.key, batch(range(100, 105), service="old"))  # outside the 24 hours
    clock.move_to(start)
    post(client, source.key, batch(range(8)))
    post(client, source.key, batch(range(4), service="db"))
    sign_in(client, owner)
    region = client.post(
        f"{path}/preview",
        data={"csrf_token": csrf_token(client, path), **FORM},
        headers={"HX-Request": "true"},
    ).get_data(as_text=True)
    assert region.startswith('<section id="noise-preview"')
    assert "The last 24 h of alerts (12) would have made 2 incidents instead of 12." in region
    off = client.post(
        f"{path}/preview",
        data={"csrf_token": csrf_token(client, path), **FORM, "group_labels": ""},
        headers={"HX-Request": "true"},
    ).get_data(as_text=True)
    assert "Grouping is off: the last 24 h of alerts (12) made 12 incidents." in off
    assert rules_count() == 0  # a preview saves nothing


def test_the_page_speaks_chinese(client: FlaskClient, owner: Persona) -> None:
    _, path = page_of(owner)
    owner.member.locale = "zh"
    db.session.commit()
    sign_in(client, owner)
    refresh()  # the test's app context outlives each request: forget the last one's locale
    page = client.get(path).get_data(as_text=True)
    assert "降噪" in page and "分组" in page and "抖动" in page


def test_members_get_403(client: FlaskClient, owner: Persona, member: Persona) -> None:
    _, path = page_of(owner)
    sign_in(client, member)
    assert client.get(path).status_code == 403
    assert client.post(f"{path}/preview", headers={"HX-Request": "true"}).status_code in (400, 403)


def test_another_accounts_admin_gets_404(app: Flask, owner: Persona) -> None:
    _, path = page_of(owner)
    other = factories.persona("owner")
    client = app.test_client()
    sign_in(client, other)
    assert client.get(path).status_code == 404
    token = csrf_token(client, "/admin/channels")
    preview = client.post(
        f"{path}/preview", data={"csrf_token": token}, headers={"HX-Request": "1"}
    )
    assert preview.status_code == 404


def test_a_post_without_the_csrf_token_is_refused(client: FlaskClient, owner: Persona) -> None:
    _, path = page_of(owner)
    sign_in(client, owner)
    assert client.post(path, data=FORM).status_code == 400
    assert rules_count() == 0
