"""The incident card: what each state shows and offers, in JSON 2.0 that Lark accepts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests import factories
from tests.factories import Persona
from webapp.cards.actions import CARD_SNOOZE_MINUTES, CardAction, parse
from webapp.cards.render import MAX_CARD_BYTES, incident_card
from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.lark import applink
from webapp.lark.client import LarkClient, wire_bytes
from webapp.models import Alert, AlertStatus, Incident, Severity, Source
from webapp.sandbox import seed
from webapp.sandbox.cards import view
from webapp.sandbox.handle import LarkSandbox

WEB = "https://oncall.example.com/lark/k/incidents/1"


def card_of(incident: Incident, locale: str = "en") -> dict[str, Any]:
    db.session.refresh(incident)
    return incident_card(incident, locale=locale, web_url=WEB)


def labels(card: dict[str, Any]) -> list[str]:
    return [item.label for item in view(card, "en_us").interactives]


def callback_values(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [i.value for i in view(card, "en_us").interactives if i.value is not None]


def text(card: dict[str, Any]) -> str:
    return json.dumps(card, ensure_ascii=False)


@pytest.fixture
def incident(owner: Persona, member: Persona) -> Incident:
    ch = factories.channel(owner.account, [owner.member, member.member], name="core-platform")
    return factories.incident(
        owner.account,
        title="db-01 is down",
        ch=ch,
        assignees=[owner.member],
        labels={"service": "db", "env": "prod"},
    )


def test_a_triggered_critical_incident_is_red_and_offers_acknowledge_resolve_and_snooze(
    incident: Incident, owner: Persona
) -> None:
    card = card_of(incident)
    assert card["schema"] == "2.0"
    assert card["config"]["update_multi"] is True
    assert card["header"]["template"] == "red"
    assert card["header"]["title"]["content"] == f"#{incident.number} db-01 is down"
    assert card["header"]["text_tag_list"][0]["text"]["content"] == "Triggered"
    assert labels(card) == [
        "Acknowledge",
        "Resolve",
        "30 min",
        "1 h",
        "4 h",
        "24 h",
        "1 h",  # Silence…
        "2 h",
        "8 h",
        "1 day",
        "Refresh",
        "War room",
        "Open in web app",
    ]
    body = text(card)
    for fact in ("core-platform", owner.member.name, "Alerts: 0", "env=prod, service=db"):
        assert fact in body


def test_severity_colours_a_triggered_card(owner: Persona) -> None:
    warning = factories.incident(owner.account, severity=Severity.WARNING)
    info = factories.incident(owner.account, severity=Severity.INFO)
    assert card_of(warning)["header"]["template"] == "orange"
    assert card_of(info)["header"]["template"] == "yellow"


def test_an_acknowledged_incident_offers_unacknowledge_resolve_and_snooze_and_says_who(
    incident: Incident, member: Persona
) -> None:
    incidents.acknowledge(incident, Actor(member.member, Source.CARD))
    card = card_of(incident)
    assert card["header"]["template"] == "blue"
    assert labels(card)[:2] == ["Unacknowledge", "Resolve"]
    assert "24 h" in labels(card)
    assert f"Acknowledged by {member.member.name} at " in text(card)


def test_a_snoozed_incident_offers_unsnooze_and_resolve(incident: Incident, owner: Persona) -> None:
    incidents.snooze(incident, Actor(owner.member, Source.WEB), 60)
    card = card_of(incident)
    assert card["header"]["template"] == "grey"
    assert labels(card) == [
        "Unsnooze",
        "Resolve",
        *("1 h", "2 h", "8 h", "1 day"),  # Silence…
        "Refresh",
        "War room",
        "Open in web app",
    ]
    assert "Snoozed until" in text(card)


@pytest.mark.now("2027-01-31T23:30:00+08:00")
def test_a_snooze_across_midnight_and_the_month_end_shows_the_time_it_ends(
    incident: Incident, owner: Persona, clock: Any
) -> None:
    incidents.snooze(incident, Actor(owner.member, Source.WEB), 60)
    assert "Snoozed until 2027-01-31 16:30 UTC" in text(card_of(incident, "en"))
    assert "2027-02-01 00:30 UTC+8" in text(card_of(incident, "zh"))

    clock.move_to("2027-02-01T00:29:00+08:00")
    assert card_of(incident)["header"]["text_tag_list"][0]["text"]["content"] == "Snoozed"
    clock.move_to("2027-02-01T00:31:00+08:00")  # the snooze has ended: the card says so
    card = card_of(incident)
    assert card["header"]["text_tag_list"][0]["text"]["content"] == "Triggered"
    assert "Snoozed until" not in text(card)
    assert "Acknowledge" in labels(card)


def test_a_closed_incident_offers_reopen_only_and_says_who_resolved_it(
    incident: Incident, owner: Persona
) -> None:
    incidents.resolve(incident, Actor(owner.member, Source.WEB))
    card = card_of(incident)
    assert card["header"]["template"] == "green"
    assert card["header"]["text_tag_list"][0]["text"]["content"] == "Resolved"
    assert labels(card) == ["Reopen", "Refresh", "Open in web app"]
    assert f"Resolved by {owner.member.name} at " in text(card)


def test_button_values_are_small_versioned_and_parse_back(incident: Incident) -> None:
    values = callback_values(card_of(incident))
    for value in values:
        assert set(value) <= {"a", "i", "v", "m"}
        assert value["i"] == incident.id and value["v"] == incident.version
        assert len(json.dumps(value)) < 50
        assert parse(value) is not None
    snoozes = [v["m"] for v in values if v["a"] == CardAction.SNOOZE]
    assert snoozes == list(CARD_SNOOZE_MINUTES)


def test_with_many_alerts_the_card_shows_the_latest_of_n(
    owner: Persona, incident: Incident
) -> None:
    source = factories.alert_source(owner.account)
    start = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    for n in range(3):
        db.session.add(
            Alert(
                incident_id=incident.id,
                source_id=source.id,
                dedup_key=f"a{n}",
                title=f"disk {n} full",
                severity=Severity.CRITICAL,
                status=AlertStatus.FIRING,
                starts_at=start + timedelta(minutes=n),
            )
        )
    incident.alert_count = 3
    db.session.commit()
    body = text(card_of(incident))
    assert "Latest alert (latest of 3): disk 2 full" in body
    assert "disk 0 full" not in body


def test_times_are_in_china_time_on_chinese_cards_and_utc_on_english_ones(
    incident: Incident,
) -> None:
    incident.created_at = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
    db.session.commit()
    assert "2026-11-25 16:30 UTC+8" in text(card_of(incident, "zh"))
    assert "2026-11-25 08:30 UTC" in text(card_of(incident, "en"))


def test_typed_text_never_becomes_markdown(owner: Persona) -> None:
    sneaky = factories.incident(owner.account, title="<at id=all></at> [click](http://evil)")
    card = card_of(sneaky)
    assert '"tag": "markdown"' not in text(card)
    assert card["header"]["title"]["tag"] == "plain_text"


def test_a_huge_incident_still_fits_in_lark_s_card_limit(owner: Persona) -> None:
    big = factories.incident(
        owner.account,
        title="x" * 500,
        labels={f"label-{n}": "v" * 200 for n in range(200)},
    )
    big.description = "y" * 50_000
    db.session.commit()
    assert len(json.dumps(card_of(big), ensure_ascii=False).encode()) < MAX_CARD_BYTES


def test_open_in_web_app_uses_an_applink_on_feishu_and_a_plain_url_elsewhere(
    owner: Persona, app: Any
) -> None:
    integration = factories.lark_integration(owner.account, key="k-links")
    plain = f"{app.config['PUBLIC_BASE_URL']}/lark/k-links/incidents/7"
    assert applink.incident_url(integration, 7) == plain
    integration.api_base_url = "https://open.feishu.cn"
    link = urlsplit(applink.incident_url(integration, 7))
    assert (link.scheme, link.netloc, link.path) == (
        "https",
        "applink.feishu.cn",
        "/client/web_app/open",
    )
    assert parse_qs(link.query) == {"appId": [integration.app_id], "lk_target_url": [plain]}
    integration.api_base_url = "https://open.larksuite.com"
    assert applink.incident_url(integration, 7).startswith("https://applink.larksuite.com/")


def test_the_sandbox_lark_accepts_the_card_and_draws_its_buttons(
    owner: Persona, incident: Incident, lark: LarkSandbox
) -> None:
    integration = factories.lark_integration(owner.account, key="k-send")
    card = card_of(incident, "zh")
    sent = LarkClient.for_integration(integration).send_card(
        "open_id", seed.LI_LEI.open_id, card, "u-card"
    )
    received = lark.message(sent.message_id)
    assert received.title == f"#{incident.number} db-01 is down"
    assert received.buttons == labels(card)


def test_a_huge_chinese_incident_fits_in_the_30_kb_as_sent_on_the_wire(
    owner: Persona, lark: LarkSandbox
) -> None:
    """Lark's 30 KB is the request body as sent (docs/lark/cards.md): Chinese escaped as
    \\uXXXX takes seven bytes a character there, not three."""
    big = factories.incident(
        owner.account,
        title="数据库" * 160,  # under the column's 500 characters
        labels={f"标签-{n}": "值" * 200 for n in range(200)},
    )
    big.description = "描述" * 25_000
    db.session.commit()
    integration = factories.lark_integration(owner.account)
    card = card_of(big, locale="zh")

    sent = LarkClient.for_integration(integration).send_card(
        "open_id", seed.LI_LEI.open_id, card, "u-big"
    )

    assert wire_bytes(card) < MAX_CARD_BYTES
    assert sent.message_id
