"""Dispatch policies: who and which chats an incident's notifications go to, and escalation."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from tests import factories
from tests.factories import Persona
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.models import (
    CardMessage,
    Channel,
    Delivery,
    DeliveryStatus,
    DispatchRule,
    Incident,
    IncidentEvent,
    LarkBinding,
    LarkIntegration,
    Member,
    Severity,
    Source,
    Team,
    utcnow,
)
from webapp.sandbox import seed

CHAT = seed.ONCALL_CHAT.chat_id


def bind(integration: LarkIntegration, member: Member, open_id: str) -> LarkBinding:
    binding = LarkBinding(integration_id=integration.id, member_id=member.id, open_id=open_id)
    db.session.add(binding)
    db.session.commit()
    return binding


def rule(
    channel: Channel,
    integration: LarkIntegration,
    layers: list[dict[str, Any]],
    *,
    severities: list[str] | None = None,
    labels: dict[str, str] | None = None,
    position: int = 0,
) -> DispatchRule:
    row = DispatchRule(
        channel_id=channel.id,
        integration_id=integration.id,
        name=f"rule {position}",
        position=position,
        severities=severities or [],
        label_match=labels or {},
        layers=layers,
    )
    db.session.add(row)
    db.session.commit()
    return row


def rows(incident: Incident, kind: str = "send_card") -> list[Delivery]:
    return list(
        db.session.scalars(
            select(Delivery)
            .where(Delivery.incident_id == incident.id, Delivery.kind == kind)
            .order_by(Delivery.id)
        )
    )


def events(incident: Incident, kind: str) -> list[IncidentEvent]:
    return list(
        db.session.scalars(
            select(IncidentEvent).where(
                IncidentEvent.incident_id == incident.id, IncidentEvent.kind == kind
            )
        )
    )


def test_a_matching_rule_tells_its_people_and_chats(owner: Persona, member: Persona) -> None:
    integration = factories.lark_integration(owner.account)
    bind(integration, owner.member, seed.LI_LEI.open_id)
    bind(integration, member.member, seed.HAN_MEIMEI.open_id)
    channel = factories.channel(owner.account, [owner.member, member.member])
    team = Team(account_id=owner.account.id, name="SRE", members=[member.member])
    db.session.add(team)
    db.session.commit()
    rule(
        channel,
        integration,
        [{"assignees": True, "team_ids": [team.id], "chat_ids": [CHAT]}],
        severities=["Critical"],
        labels={"service": "db"},
    )

    incident = factories.incident(
        owner.account, ch=channel, assignees=[owner.member], labels={"service": "db"}
    )

    sent = [(r.receive_id_type, r.receive_id, r.status) for r in rows(incident)]
    assert sent == [
        ("open_id", seed.LI_LEI.open_id, DeliveryStatus.PENDING),
        ("open_id", seed.HAN_MEIMEI.open_id, DeliveryStatus.PENDING),
        ("chat_id", CHAT, DeliveryStatus.PENDING),
    ]
    assert len({r.uuid for r in rows(incident)}) == 3
    assert all(len(r.uuid) <= 50 for r in rows(incident))


def test_a_rule_for_other_severities_or_labels_is_passed_over(owner: Persona) -> None:
    integration = factories.lark_integration(owner.account)
    bind(integration, owner.member, seed.LI_LEI.open_id)
    channel = factories.channel(owner.account, [owner.member])
    rule(channel, integration, [{"chat_ids": [CHAT]}], severities=["Critical"], position=0)
    rule(channel, integration, [{"chat_ids": ["oc_payments"]}], labels={"team": "pay"}, position=1)
    rule(channel, integration, [{"member_ids": [owner.member.id]}], position=2)

    info = factories.incident(owner.account, severity=Severity.INFO, ch=channel)
    paying = factories.incident(owner.account, ch=channel, labels={"team": "pay"})

    assert [r.receive_id for r in rows(info)] == [seed.LI_LEI.open_id]
    assert [r.receive_id for r in rows(paying)] == [CHAT]  # the first matching rule decides


def test_without_a_matching_rule_the_assignees_are_told_directly(owner: Persona) -> None:
    integration = factories.lark_integration(owner.account)
    bind(integration, owner.member, seed.LI_LEI.open_id)

    incident = factories.incident(owner.account, assignees=[owner.member])

    assert [r.receive_id for r in rows(incident)] == [seed.LI_LEI.open_id]


def test_a_person_without_a_lark_binding_is_recorded_as_not_linked(
    owner: Persona, member: Persona
) -> None:
    integration = factories.lark_integration(owner.account)
    channel = factories.channel(owner.account, [member.member])
    rule(channel, integration, [{"member_ids": [member.member.id]}])

    incident = factories.incident(owner.account, ch=channel)

    [row] = rows(incident)
    assert row.status is DeliveryStatus.FAILED
    assert row.reason == "not_linked"
    [event] = events(incident, "notification_failed")
    assert event.details["target"] == member.member.name
    assert event.details["reason"] == "not_linked"


def test_members_of_other_accounts_are_never_told(owner: Persona, outsider: Persona) -> None:
    integration = factories.lark_integration(owner.account)
    bind(integration, owner.member, seed.LI_LEI.open_id)
    channel = factories.channel(owner.account, [owner.member])
    rule(channel, integration, [{"member_ids": [owner.member.id, outsider.member.id]}])

    incident = factories.incident(owner.account, ch=channel)

    assert [r.member_id for r in rows(incident)] == [owner.member.id]


def test_later_changes_update_every_card_but_the_one_clicked(owner: Persona) -> None:
    integration = factories.lark_integration(owner.account)
    incident = factories.incident(owner.account)
    for message_id in ("om_1", "om_2"):
        db.session.add(
            CardMessage(
                integration_id=integration.id,
                incident_id=incident.id,
                message_id=message_id,
                receive_id_type="open_id",
                receive_id="ou_x",
                rendered_version=incident.version,
            )
        )
    db.session.commit()

    incidents.acknowledge(incident, Actor(owner.member, Source.CARD, message_id="om_1"))

    assert [r.message_id for r in rows(incident, "update_card")] == ["om_2"]


def _escalating(owner: Persona, member: Persona) -> tuple[Incident, LarkIntegration]:
    integration = factories.lark_integration(owner.account)
    bind(integration, owner.member, seed.LI_LEI.open_id)
    bind(integration, member.member, seed.HAN_MEIMEI.open_id)
    channel = factories.channel(owner.account, [owner.member, member.member])
    rule(
        channel,
        integration,
        [
            {"delay_minutes": 0, "member_ids": [owner.member.id]},
            {"delay_minutes": 10, "member_ids": [member.member.id]},
        ],
    )
    return factories.incident(owner.account, ch=channel), integration


def _run_escalations(now_offset_minutes: int) -> None:
    now = utcnow() + timedelta(minutes=now_offset_minutes)
    for row_id, lease in outbox.claim(now, 100):
        row = db.session.get(Delivery, row_id)
        if row is not None and row.kind == "escalate":
            outbox.handle(row_id, lease, now)
        else:  # leave deliveries for the outbox tests: give the row back
            assert row is not None
            row.next_attempt_at = utcnow()
            db.session.commit()


def test_the_next_layer_is_told_when_nobody_acknowledges_in_time(
    owner: Persona, member: Persona
) -> None:
    incident, _ = _escalating(owner, member)
    assert [r.receive_id for r in rows(incident)] == [seed.LI_LEI.open_id]

    _run_escalations(5)
    assert [r.receive_id for r in rows(incident)] == [seed.LI_LEI.open_id]

    _run_escalations(11)
    told = [(r.receive_id, r.layer) for r in rows(incident)]
    assert told == [(seed.LI_LEI.open_id, 0), (seed.HAN_MEIMEI.open_id, 1)]
    assert [e.details["layer"] for e in events(incident, "escalated")] == [2]


@pytest.mark.now("2027-02-28T23:55:00+08:00")
def test_an_escalation_that_crosses_midnight_and_the_month_end_fires_on_time(
    owner: Persona, member: Persona, clock: Any
) -> None:
    incident, _ = _escalating(owner, member)  # second layer after 10 minutes: 1 March 00:05

    clock.move_to("2027-03-01T00:04:00+08:00")
    _run_escalations(0)
    assert [r.receive_id for r in rows(incident)] == [seed.LI_LEI.open_id]

    clock.move_to("2027-03-01T00:05:30+08:00")
    _run_escalations(0)
    assert [r.receive_id for r in rows(incident)] == [seed.LI_LEI.open_id, seed.HAN_MEIMEI.open_id]
    [escalated] = events(incident, "escalated")
    fired = escalated.created_at.astimezone(timezone(timedelta(hours=8)))
    assert (fired.date().isoformat(), fired.strftime("%H:%M")) == ("2027-03-01", "00:05")


def test_acknowledging_stops_the_escalation(owner: Persona, member: Persona) -> None:
    incident, _ = _escalating(owner, member)

    incidents.acknowledge(incident, Actor(owner.member, Source.WEB))
    _run_escalations(11)

    assert [r.receive_id for r in rows(incident)] == [seed.LI_LEI.open_id]
    [step] = rows(incident, "escalate")
    assert step.status is DeliveryStatus.CANCELLED
    assert events(incident, "escalated") == []


def test_a_snoozed_incident_is_not_escalated_until_the_snooze_ends(
    owner: Persona, member: Persona
) -> None:
    incident, _ = _escalating(owner, member)
    incidents.snooze(incident, Actor(owner.member, Source.WEB), 30)

    _run_escalations(11)
    assert [r.receive_id for r in rows(incident)] == [seed.LI_LEI.open_id]
    [step] = rows(incident, "escalate")
    assert step.status is DeliveryStatus.PENDING

    _run_escalations(31)
    assert [r.receive_id for r in rows(incident)][-1] == seed.HAN_MEIMEI.open_id
