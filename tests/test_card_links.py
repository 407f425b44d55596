"""Every link a card carries into the web app is a Lark AppLink on a real tenant, and opens
the page signed in with Lark (login-free inside Lark), never our own sign-in page."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests import factories
from tests.factories import Persona
from tests.test_schedule_cover import NOW, Team, ask, deliver, the_card
from tests.test_schedule_cover import team as team  # the fixture
from webapp.delivery import schedule_kinds
from webapp.extensions import db
from webapp.insights import digest
from webapp.lark import applink
from webapp.models import CoverRequest, Delivery, DeliveryKind, LarkIntegration, utcnow
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox
from webapp.schedules import reminders

FEISHU = "https://open.feishu.cn"


def _links(card: dict[str, object]) -> list[str]:
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "open_url":
                found.append(str(node["default_url"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found


def _target_of(link: str) -> str:
    """The page an AppLink opens (its lk_target_url), checked to be an AppLink of our app."""
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "applink.feishu.cn",
        "/client/web_app/open",
    )
    query = parse_qs(parts.query)
    assert query["appId"] == [seed.DEMO_APP_ID]
    return query["lk_target_url"][0]


def _on_feishu(integration: LarkIntegration) -> None:
    integration.api_base_url = FEISHU  # a real tenant: links become AppLinks
    db.session.commit()


def _entry(app: Flask, integration: LarkIntegration, path: str) -> str:
    base = app.config["PUBLIC_BASE_URL"]
    return f"{base}/lark/{integration.key}/go?{urlencode({'to': path})}"


@pytest.mark.now(NOW)
def test_cover_reminder_and_handoff_cards_open_the_schedule_through_an_applink(
    app: Flask, client: FlaskClient, team: Team, lark: LarkSandbox
) -> None:
    ask(client, team)
    [request] = db.session.query(CoverRequest).all()
    _on_feishu(team.integration)
    entry = _entry(app, team.integration, f"/schedules/{team.schedule.id}")
    start = utcnow() + timedelta(minutes=30)
    payload = {"schedule_id": team.schedule.id, "start": start.isoformat()}
    payload["end"] = (start + timedelta(days=7)).isoformat()
    payload["member_id"] = team.li.member.id
    drawn = [
        schedule_kinds._cover(_row(team, {"cover_request_id": request.id}), team.integration),
        reminders.card_for(_row(team, payload, DeliveryKind.SHIFT_REMINDER), "en", utcnow()),
        reminders.card_for(_row(team, payload, DeliveryKind.HANDOFF_POST), "en", utcnow()),
    ]

    for card in drawn:
        assert card is not None
        [link] = _links(card)
        assert _target_of(link) == entry


def _row(team: Team, payload: dict[str, object], kind: str = DeliveryKind.COVER_CARD) -> Delivery:
    return Delivery(integration_id=team.integration.id, kind=kind, payload=payload, uuid="x")


def test_the_weekly_digest_opens_insights_through_an_applink(
    app: Flask, owner: Persona, lark: LarkSandbox
) -> None:
    integration = factories.lark_integration(owner.account)
    channel = factories.channel(owner.account, [owner.member], name="Payments")
    _on_feishu(integration)

    card = digest.digest_card(digest.Target(integration, channel, "oc_x"), datetime.now())

    [link] = _links(card)
    assert _target_of(link) == _entry(
        app, integration, f"/admin/insights/?days=7&channel={channel.id}"
    )


def test_the_incident_card_link_stays_an_applink_to_the_incident(owner: Persona) -> None:
    integration = factories.lark_integration(owner.account)
    _on_feishu(integration)

    target = _target_of(applink.incident_url(integration, 12))

    assert target.endswith(f"/lark/{integration.key}/incidents/12")


@pytest.mark.now(NOW)
def test_a_person_opening_the_schedule_link_in_lark_lands_on_it_signed_in_with_lark(
    client: FlaskClient, team: Team, lark: LarkSandbox, live_server: str
) -> None:
    key = team.integration.key
    lark.app().configure(redirect_urls=[f"{live_server}/lark/{key}/oauth/callback"])
    ask(client, team)
    deliver()
    card = the_card(lark, seed.LI_LEI.open_id)
    [link] = [i.url for i in card.view.interactives if i.url]
    assert link == _entry_live(live_server, key, f"/schedules/{team.schedule.id}")

    page = lark.client_session(seed.LI_LEI.open_id).get(link, timeout=10)

    assert page.status_code == 200
    assert urlsplit(page.url).path == f"/schedules/{team.schedule.id}"
    assert "Core Platform primary" in page.text


def _entry_live(live_server: str, key: str, path: str) -> str:
    return f"{live_server}/lark/{key}/go?{urlencode({'to': path})}"


def test_the_entry_goes_only_to_our_own_pages(
    client: FlaskClient, owner: Persona, lark: LarkSandbox
) -> None:
    integration = factories.lark_integration(owner.account)

    answer = client.get(f"/lark/{integration.key}/go", query_string={"to": "https://evil.test/"})

    # Not signed in with Lark yet: Lark's authorize page first, whatever `to` says.
    assert answer.status_code == 302
    assert "/authen/v1/authorize" in answer.headers["Location"]
    assert "evil.test" not in answer.headers["Location"]
