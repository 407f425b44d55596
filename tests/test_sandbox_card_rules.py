"""The sandbox's card validator: what Lark's JSON 2.0 rules refuse, and that every card the
product draws passes them."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests import factories
from tests.factories import Persona
from webapp.cards.render import Notice, incident_card
from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.models import Alert, AlertStatus, Incident, Severity, Source
from webapp.sandbox import card_rules
from webapp.sandbox.card_rules import CardRefused

WEB = "https://oncall.example.com/lark/k/incidents/1"


def good_card() -> dict[str, Any]:
    return {
        "schema": "2.0",
        "config": {"update_multi": True, "summary": {"content": "#1 db"}},
        "header": {
            "title": {"tag": "plain_text", "content": "#1 db"},
            "text_tag_list": [
                {"tag": "text_tag", "text": {"tag": "plain_text", "content": "x"}, "color": "red"}
            ],
            "template": "grey",
        },
        "body": {"elements": [{"tag": "markdown", "content": "**hi**"}, {"tag": "hr"}]},
    }


def refused(card: Any) -> str:
    with pytest.raises(CardRefused) as caught:
        card_rules.check(card)
    return str(caught.value)


def test_a_plain_2_0_card_with_a_grey_header_passes() -> None:
    card_rules.check(good_card())


def test_a_grey_text_tag_is_refused_neutral_passes() -> None:
    card = good_card()
    card["header"]["text_tag_list"][0]["color"] = "grey"
    assert "text_tag_list[0].color" in refused(card)
    card["header"]["text_tag_list"][0]["color"] = "neutral"
    card_rules.check(card)


def test_a_1_0_action_block_is_refused_in_a_2_0_card() -> None:
    card = good_card()
    button = {"tag": "button", "text": {"tag": "plain_text", "content": "Ack"}, "value": {}}
    card["body"]["elements"].append({"tag": "action", "actions": [button]})
    assert "1.0 tag" in refused(card)


def test_a_bare_plain_text_is_not_a_component() -> None:
    card = good_card()
    card["body"]["elements"].append({"tag": "plain_text", "content": "rules"})
    assert "plain_text" in refused(card)
    card = good_card()
    card["body"]["elements"].append({"tag": "div", "text": {"tag": "plain_text", "content": "x"}})
    card_rules.check(card)


def test_a_31_kb_card_is_refused() -> None:
    card = good_card()
    card["body"]["elements"] = [{"tag": "markdown", "content": "x" * 31 * 1024}]
    assert "30 KB" in refused(card)


def test_an_unknown_top_level_key_and_an_unknown_property_are_refused() -> None:
    card = good_card()
    card["elements"] = []
    assert "unsupported properties elements" in refused(card)
    card = good_card()
    card["body"]["elements"][0]["colour"] = "red"
    assert "colour" in refused(card)


def test_bad_enums_a_false_update_multi_and_too_many_elements_are_refused() -> None:
    card = good_card()
    card["header"]["template"] = "pink"
    assert "template" in refused(card)
    card = good_card()
    card["config"]["update_multi"] = False
    assert "update_multi" in refused(card)
    card = good_card()
    card["body"]["elements"] = [{"tag": "hr"}] * 201
    assert "200 components" in refused(card)
    card = good_card()
    card["body"]["elements"] = [{"tag": "button", "type": "huge"}]
    assert "type" in refused(card)


# -- every card the product draws --------------------------------------------------------


def _incident(owner: Persona, member: Persona, severity: Severity, **kw: Any) -> Incident:
    ch = factories.channel(owner.account, [owner.member, member.member], name="core-platform")
    return factories.incident(
        owner.account, ch=ch, severity=severity, assignees=[owner.member], **kw
    )


def _draw(incident: Incident, notice: Notice | None = None) -> list[dict[str, Any]]:
    db.session.refresh(incident)
    return [
        incident_card(incident, locale=locale, web_url=WEB, notice=notice)
        for locale in ("en", "zh")
    ]


def _accepts(cards: list[dict[str, Any]]) -> None:
    for card in cards:
        card_rules.check(copy.deepcopy(card))


@pytest.mark.parametrize("severity", list(Severity))
def test_every_state_of_every_severity_is_accepted(
    owner: Persona, member: Persona, severity: Severity
) -> None:
    incident = _incident(owner, member, severity)
    _accepts(_draw(incident))
    actor = Actor(member.member, Source.CARD)
    incidents.acknowledge(incident, actor)
    _accepts(_draw(incident))
    incidents.snooze(incident, actor, 60)
    _accepts(_draw(incident))
    incidents.unsnooze(incident, actor)
    incidents.resolve(incident, actor)
    _accepts(_draw(incident))
    incidents.reopen(incident, actor)
    _accepts(_draw(incident))


def test_a_snoozed_triggered_card_is_accepted(owner: Persona, member: Persona) -> None:
    incident = _incident(owner, member, Severity.CRITICAL)
    incidents.snooze(incident, Actor(owner.member, Source.WEB), 30)
    _accepts(_draw(incident))


def test_long_titles_many_labels_and_many_alerts_are_accepted(
    owner: Persona, member: Persona
) -> None:
    labels = {f"label-{i:02d}-" + "k" * 60: "长" * 300 for i in range(40)}
    incident = _incident(owner, member, Severity.WARNING, title="数据库" * 166, labels=labels)
    incident.description = "描述" * 2000
    source = factories.alert_source(owner.account)
    start = datetime(2026, 6, 15, 1, 0, tzinfo=UTC)
    for n in range(30):
        db.session.add(
            Alert(
                incident_id=incident.id,
                source_id=source.id,
                dedup_key=f"a{n}",
                title=f"alert {n} " + "x" * 480,
                severity=Severity.WARNING,
                status=AlertStatus.FIRING,
                starts_at=start + timedelta(minutes=n),
            )
        )
    incident.alert_count = 30
    db.session.commit()
    for card in _draw(incident):
        card_rules.check(card)


def test_answer_cards_with_a_refusal_notice_are_accepted(owner: Persona, member: Persona) -> None:
    incident = _incident(owner, member, Severity.INFO)
    notice = Notice("你没有席位。" * 20, "Open seats", "https://oncall.example.com/seats")
    _accepts(_draw(incident, notice))


def test_send_and_patch_of_a_refused_card_answer_230099(client: Any, lark: Any) -> None:
    from tests.sandbox_helpers import API, bearer, code, send, token
    from webapp.sandbox import seed

    bad = good_card()
    bad["header"]["text_tag_list"][0]["color"] = "grey"
    tok = token(client)
    assert code(send(client, tok, seed.LI_LEI.open_id, content=bad)) == 230099
    message_id = send(client, tok, seed.LI_LEI.open_id, content=good_card()).json["data"][
        "message_id"
    ]
    patched = client.patch(
        f"{API}/im/v1/messages/{message_id}",
        json={"content": json.dumps(bad)},
        headers=bearer(tok),
    )
    assert code(patched) == 230099
