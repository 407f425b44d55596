"""Pages that wake people: a person told about an incident gets their ladder's buzzes on the
card they were sent (Lark's urgent_app / urgent_sms / urgent_phone), until someone
acknowledges or resolves it, from wherever. Each buzz shows in "Who was told" and in the
timeline; each refusal says why and what to do."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import factories
from tests.conftest import sign_in
from tests.test_dispatch import bind, rule
from tests.test_outbox import later
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.models import (
    Channel,
    Delivery,
    Incident,
    IncidentEvent,
    LarkBinding,
    LarkIntegration,
    Member,
    Severity,
    Source,
    utcnow,
)
from webapp.paging import rules
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox

OPEN_ID = seed.LI_LEI.open_id
URGENT = "/open-apis/im/v1/messages/*/urgent_*"


def _told(
    owner: factories.Persona, severity: Severity = Severity.CRITICAL
) -> tuple[LarkIntegration, Incident]:
    integration = factories.lark_integration(owner.account)
    bind(integration, owner.member, OPEN_ID)
    channel: Channel = factories.channel(owner.account, [owner.member])
    rule(channel, integration, [{"assignees": True}])
    incident = factories.incident(
        owner.account, ch=channel, assignees=[owner.member], severity=severity
    )
    return integration, incident


def _urgent_calls(lark: LarkSandbox) -> list[str]:
    """ "app", "sms", "phone" per urgent call Lark received, in order."""
    return [c.path.rsplit("urgent_", 1)[1] for c in lark.calls(URGENT, "PATCH")]


def _buzz_rows(incident: Incident) -> list[Delivery]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Delivery)
            .where(Delivery.incident_id == incident.id, Delivery.kind == "buzz")
            .order_by(Delivery.id)
        )
    )


def _lines(incident: Incident, kind: str) -> list[IncidentEvent]:
    db.session.expire_all()
    return [e for e in db.session.get(Incident, incident.id).events if e.kind == kind]


def _page_region(
    client: FlaskClient, owner: factories.Persona, integration: LarkIntegration, incident: Incident
) -> tuple[str, str]:
    """("Who was told", the timeline) as the incident page shows them, in words."""
    sign_in(client, owner)
    binding = db.session.scalars(
        select(LarkBinding).where(LarkBinding.member_id == owner.member.id)
    ).one()
    with client.session_transaction() as session:
        session["lark"] = {"key": integration.key, "binding": binding.id}
    db.session.expire_all()
    page = client.get(f"/lark/{integration.key}/incidents/{incident.number}").get_data(True)

    def region(region_id: str) -> str:
        start = page.index(f'id="{region_id}"')
        end = page.index("</section>", start)
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page[start:end])).split())

    return region("who-was-told"), region("incident-timeline")


def test_a_critical_card_is_buzzed_in_the_app_right_after_it_arrives(
    client: FlaskClient, owner: factories.Persona, lark: LarkSandbox
) -> None:
    integration, incident = _told(owner)
    outbox.run_once()

    [card] = lark.messages_to(OPEN_ID)
    [call] = lark.calls(URGENT, "PATCH")
    assert call.path == f"/open-apis/im/v1/messages/{card.message_id}/urgent_app"
    assert call.query == {"user_id_type": "open_id"}
    assert call.body == {"user_id_list": [OPEN_ID]}
    assert [(b.message_id, b.via) for b in lark.buzzes(OPEN_ID)] == [(card.message_id, "app")]
    told, timeline = _page_region(client, owner, integration, incident)
    assert f"{owner.member.name}, in-app buzz (step 2 of the starting rules): buzzed" in told
    assert f"{owner.member.name}, phone buzz (step 3 of the starting rules): scheduled" in told
    assert "buzzed" in timeline and "in-app buzz (step 2" in timeline


def test_the_phone_buzz_follows_five_minutes_later_when_nobody_acknowledged(
    owner: factories.Persona, lark: LarkSandbox
) -> None:
    _, incident = _told(owner)
    outbox.run_once()
    later(4 * 60)
    assert _urgent_calls(lark) == ["app"]
    later(5 * 60 + 1)
    assert _urgent_calls(lark) == ["app", "phone"]
    assert lark.buzz_usage()["used"] == 1  # the phone buzz used the tenant's quota
    assert [e.details["via"] for e in _lines(incident, "buzzed")] == ["app", "phone"]


@pytest.mark.parametrize("source", [Source.CARD, Source.WEB, Source.API])
@pytest.mark.parametrize("verb", ["acknowledge", "resolve"])
def test_acknowledge_or_resolve_from_anywhere_stops_every_later_step(
    source: Source, verb: str, owner: factories.Persona, lark: LarkSandbox
) -> None:
    _, incident = _told(owner)
    outbox.run_once()
    getattr(incidents, verb)(incident, Actor(owner.member, source))

    later(6 * 60)
    assert _urgent_calls(lark) == ["app"]  # no phone buzz
    assert [(r.payload["via"], r.status.value) for r in _buzz_rows(incident)] == [
        ("app", "delivered"),
        ("phone", "cancelled"),
    ]


def test_pressing_acknowledge_on_the_card_in_lark_stops_the_phone_buzz(
    client: FlaskClient, owner: factories.Persona, lark: LarkSandbox, live_server: str
) -> None:
    integration, incident = _told(owner)
    lark.app().configure(card_request_url=f"{live_server}/lark/{integration.key}/card")
    outbox.run_once()
    [card] = lark.messages_to(OPEN_ID)
    assert lark.click(card.message_id, OPEN_ID, button="认领").ok  # Acknowledge, in Chinese

    later(6 * 60)
    assert _urgent_calls(lark) == ["app"]
    told, _ = _page_region(client, owner, integration, incident)
    assert "phone buzz (step 3 of the starting rules): stopped" in told


def test_a_snooze_holds_the_next_step_until_it_ends(
    owner: factories.Persona, lark: LarkSandbox
) -> None:
    _, incident = _told(owner)
    outbox.run_once()
    incidents.snooze(incident, Actor(owner.member, Source.WEB), 30)

    later(6 * 60)
    assert _urgent_calls(lark) == ["app"]
    later(31 * 60)
    assert _urgent_calls(lark) == ["app", "phone"]


def test_a_used_up_buzz_quota_falls_back_to_an_in_app_buzz_and_an_email(
    client: FlaskClient, owner: factories.Persona, lark: LarkSandbox, smtp: object
) -> None:
    integration, incident = _told(owner)
    lark.set_buzz_quota(quota=0)
    outbox.run_once()
    later(5 * 60 + 1)
    later(5 * 60 + 2)  # the fallback buzz and the e-mail

    assert _urgent_calls(lark) == ["app", "phone", "app"]
    phone = lark.calls("*/urgent_phone", "PATCH")[0]
    assert phone.code == 230024
    vias = [(r.payload["via"], r.status.value, r.reason) for r in _buzz_rows(incident)]
    assert vias == [
        ("app", "delivered", None),
        ("phone", "failed", "buzz_quota"),
        ("app", "delivered", None),
    ]
    emails = db.session.scalars(
        select(Delivery).where(Delivery.incident_id == incident.id, Delivery.kind == "email")
    ).all()
    assert [(e.payload["why"], e.status.value) for e in emails] == [("buzz_quota", "delivered")]
    told, timeline = _page_region(client, owner, integration, incident)
    assert "not buzzed" in told and "SMS and phone buzz quota is used up" in told
    assert (
        "buzz not sent" in timeline
        and "in-app buzz (step 3 of the starting rules) instead of phone buzz" in timeline
    )


REFUSALS = [
    (230052, "buzz_not_allowed", "only the owner and admins may buzz"),
    (230023, "buzz_unread", "200 unread buzzes"),
    (99991672, "buzz_scope", "im:message.urgent"),
    (230001, "not_in_chat", "not in the chat of the card"),
]


@pytest.mark.parametrize(("code", "reason", "words"), REFUSALS, ids=[r[1] for r in REFUSALS])
def test_each_refusal_is_named_with_its_fix(
    code: int,
    reason: str,
    words: str,
    client: FlaskClient,
    owner: factories.Persona,
    lark: LarkSandbox,
) -> None:
    integration, incident = _told(owner)
    lark.fail("/open-apis/im/v1/messages/*/urgent_app", code=code)
    outbox.run_once()

    [app, _phone] = _buzz_rows(incident)
    assert (app.status.value, app.reason, app.last_error_code) == ("failed", reason, code)
    [line] = _lines(incident, "buzz_failed")
    assert line.details["reason"] == reason
    told, timeline = _page_region(client, owner, integration, incident)
    assert words in told and words in timeline


def test_a_person_missing_from_the_chat_is_named_not_skipped(
    owner: factories.Persona, lark: LarkSandbox
) -> None:
    _, incident = _told(owner)
    outbox.run_once()
    with lark.sandbox.lock:  # the person is no longer in the chat of their card
        [chat] = [c for c in lark.sandbox.chats.values() if c.p2p and OPEN_ID in c.members]
        chat.members.remove(OPEN_ID)
    later(5 * 60 + 1)
    assert lark.calls("*/urgent_phone", "PATCH")[0].code == 230001
    assert _buzz_rows(incident)[1].reason == "not_in_chat"


def test_quiet_hours_hold_back_a_severity_s_buzzes(
    owner: factories.Persona, lark: LarkSandbox
) -> None:
    member: Member = owner.member
    member.timezone = "UTC"
    now = utcnow()
    now_minute = now.hour * 60 + now.minute
    steps = rules.parse_steps([("0", "card"), ("0", "app")])
    window = ((now_minute - 60) % 1440, (now_minute + 60) % 1440)
    rules.save(owner.account.id, member, "Critical", steps, True, window)
    db.session.commit()
    _, incident = _told(owner)
    outbox.run_once()

    assert _urgent_calls(lark) == []
    [row] = _buzz_rows(incident)
    assert (row.status.value, row.reason) == ("cancelled", "quiet_hours")
    assert [e.details["reason"] for e in _lines(incident, "buzz_failed")] == ["quiet_hours"]


def test_phone_buzzes_reserved_for_critical_ring_in_the_app_for_a_warning(
    owner: factories.Persona, lark: LarkSandbox
) -> None:
    steps = rules.parse_steps([("0", "card"), ("0", "phone")])
    rules.save(owner.account.id, owner.member, "Warning", steps, False, (0, 0))
    rules.reserve_phone(owner.account.id, True)
    db.session.commit()
    _, incident = _told(owner, Severity.WARNING)
    outbox.run_once()

    assert _urgent_calls(lark) == ["app"]
    [line] = _lines(incident, "buzzed")
    assert (line.details["via"], line.details["instead_of"]) == ("app", "phone")


def test_an_info_incident_never_buzzes_with_the_starting_rules(
    owner: factories.Persona, lark: LarkSandbox
) -> None:
    _, incident = _told(owner, Severity.INFO)
    outbox.run_once()
    later(60 * 60)
    assert len(lark.messages_to(OPEN_ID)) == 1
    assert _urgent_calls(lark) == [] and _buzz_rows(incident) == []


def test_a_member_s_own_ladder_replaces_the_account_s(
    owner: factories.Persona, lark: LarkSandbox
) -> None:
    account_steps = rules.parse_steps([("0", "card"), ("1", "sms")])
    rules.save(owner.account.id, None, "Critical", account_steps, False, (0, 0))
    own = rules.parse_steps([("0", "card"), ("2", "phone")])
    rules.save(owner.account.id, owner.member, "Critical", own, False, (0, 0))
    db.session.commit()
    _, incident = _told(owner)
    outbox.run_once()
    later(2 * 60 + 1)
    assert _urgent_calls(lark) == ["phone"]
    assert _buzz_rows(incident)[0].payload["rule"] == "own"


def test_an_email_step_sends_the_incident_e_mail(
    owner: factories.Persona, lark: LarkSandbox, smtp: object
) -> None:
    steps = rules.parse_steps([("0", "card"), ("3", "email")])
    rules.save(owner.account.id, owner.member, "Critical", steps, False, (0, 0))
    db.session.commit()
    _, incident = _told(owner)
    outbox.run_once()
    later(3 * 60 + 1)
    later(3 * 60 + 2)
    [email] = db.session.scalars(
        select(Delivery).where(Delivery.incident_id == incident.id, Delivery.kind == "email")
    ).all()
    assert (email.payload["why"], email.status.value) == ("ladder", "delivered")


@pytest.mark.parametrize(
    ("pairs", "error"),
    [
        ([("0", "card"), ("5", "fax")], "Choose card"),
        ([("x", "app")], "whole number"),
        ([("2000", "app")], "between 0 and 1440"),
        ([("5", "card")], "The card goes out once"),
        ([("1", "app")] * 7, "At most six"),
    ],
)
def test_a_rule_that_cannot_be_kept_says_what_to_change(
    pairs: list[tuple[str, str]], error: str
) -> None:
    with pytest.raises(rules.RuleError, match=error):
        rules.parse_steps(pairs)


def test_steps_are_kept_in_time_order_after_the_card() -> None:
    steps = rules.parse_steps([("10", "phone"), ("", ""), ("0", "app")])
    assert [(s.after, s.via) for s in steps] == [(0, "card"), (0, "app"), (10, "phone")]


def test_a_buzz_that_waits_for_its_card_says_so(
    owner: factories.Persona, lark: LarkSandbox
) -> None:
    _, incident = _told(owner)
    lark.fail("/open-apis/im/v1/messages", status=503, times=1)
    outbox.run_once()
    app_row = _buzz_rows(incident)[0]
    assert app_row.status.value == "pending"
    assert app_row.last_error == "waiting for the card it buzzes to be sent"
    later(10)
    later(12)
    assert _urgent_calls(lark) == ["app"]


def _chat_then_person_after_ten_minutes(owner: factories.Persona) -> Incident:
    """A policy telling the on-call chat at once and the owner after 10 minutes."""
    integration = factories.lark_integration(owner.account)
    bind(integration, owner.member, OPEN_ID)
    channel = factories.channel(owner.account, [owner.member])
    rule(
        channel,
        integration,
        [
            {"chat_ids": [seed.ONCALL_CHAT.chat_id]},
            {"delay_minutes": 10, "member_ids": [owner.member.id]},
        ],
    )
    return factories.incident(owner.account, ch=channel)


def test_a_layer_told_later_starts_its_people_s_ladders_then(
    owner: factories.Persona, lark: LarkSandbox, clock: time_machine.Traveller
) -> None:
    incident = _chat_then_person_after_ten_minutes(owner)
    outbox.run_once()
    assert _buzz_rows(incident) == []
    clock.shift(timedelta(minutes=10, seconds=1))
    later(0)  # the escalation tells the second layer
    later(1)  # its card, then the in-app buzz
    later(2)
    escalated_at = utcnow()
    rows = _buzz_rows(incident)
    assert [r.payload["via"] for r in rows] == ["app", "phone"]
    assert rows[1].next_attempt_at - escalated_at <= timedelta(minutes=5)
    assert rows[1].next_attempt_at - escalated_at > timedelta(minutes=4)
    assert _urgent_calls(lark) == ["app"]


def test_a_card_sent_because_nobody_acknowledged_says_so(
    owner: factories.Persona, lark: LarkSandbox, clock: time_machine.Traveller
) -> None:
    owner.member.locale = "en"
    _chat_then_person_after_ten_minutes(owner)
    outbox.run_once()
    [chat_card] = lark.messages_to(seed.ONCALL_CHAT.chat_id)
    assert "nobody acknowledged" not in chat_card.content
    clock.shift(timedelta(minutes=10, seconds=1))
    later(0)
    later(1)
    [card] = lark.messages_to(OPEN_ID)
    assert "Sent to you because nobody acknowledged for 10 minutes." in card.content


def _chat_and_person(owner: factories.Persona) -> Incident:
    integration = factories.lark_integration(owner.account)
    bind(integration, owner.member, OPEN_ID)
    channel = factories.channel(owner.account, [owner.member])
    rule(channel, integration, [{"assignees": True, "chat_ids": [seed.ONCALL_CHAT.chat_id]}])
    return factories.incident(owner.account, ch=channel, assignees=[owner.member])


def test_a_person_whose_own_card_never_arrived_is_buzzed_in_the_policy_s_chat(
    owner: factories.Persona, lark: LarkSandbox
) -> None:
    lark.fail("/open-apis/im/v1/messages", code=230053, times=1)  # they stopped the bot
    incident = _chat_and_person(owner)
    outbox.run_once()
    outbox.run_once()
    [group_card] = lark.messages_to(seed.ONCALL_CHAT.chat_id)
    [call] = lark.calls(URGENT, "PATCH")
    assert call.path == f"/open-apis/im/v1/messages/{group_card.message_id}/urgent_app"
    assert call.body == {"user_id_list": [OPEN_ID]}
    assert _buzz_rows(incident)[0].message_id == group_card.message_id


def test_a_group_that_lets_only_admins_buzz_is_named_with_its_fix(
    client: FlaskClient, owner: factories.Persona, lark: LarkSandbox
) -> None:
    lark.fail("/open-apis/im/v1/messages", code=230053, times=1)
    lark.set_chat_urgent(seed.ONCALL_CHAT.chat_id, "only_owner")
    incident = _chat_and_person(owner)
    outbox.run_once()
    outbox.run_once()
    [refused] = lark.calls(URGENT, "PATCH")
    assert refused.code == 230052
    [line] = _lines(incident, "buzz_failed")
    assert line.details["reason"] == "buzz_not_allowed"
    integration = db.session.scalars(select(LarkIntegration)).one()
    told, _timeline = _page_region(client, owner, integration, incident)
    assert "only the owner and admins may buzz" in told
