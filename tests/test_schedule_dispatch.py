"""Escalation layers that page whoever is on call in a schedule, decided when they fire."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests import factories
from tests.conftest import sign_in
from tests.factories import Persona
from tests.test_dispatch import _run_escalations, bind, rows, rule
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.models import Delivery, Incident, Schedule, ScheduleLayer, utcnow
from webapp.sandbox import seed


def core_platform(owner: Persona, member: Persona) -> Schedule:
    """Weekly, Monday 09:00 Beijing: the owner from 2026-06-01, the member the week after."""
    schedule = Schedule(account_id=owner.account.id, name="Core Platform primary")
    schedule.layers.append(
        ScheduleLayer(
            name="Weekly",
            member_ids=[owner.member.id, member.member.id],
            shift_kind="weekly",
            handoff_weekday=0,
            handoff_minute=9 * 60,
            timezone="Asia/Shanghai",
            rotation_start=date(2026, 6, 1),
            restriction=None,
        )
    )
    db.session.add(schedule)
    db.session.commit()
    return schedule


def paged(owner: Persona, member: Persona, schedule: Schedule) -> Incident:
    integration = factories.lark_integration(owner.account)
    LINKS[owner.member.id] = (
        integration.key,
        bind(integration, owner.member, seed.LI_LEI.open_id).id,
    )
    bind(integration, member.member, seed.HAN_MEIMEI.open_id)
    channel = factories.channel(owner.account, [owner.member, member.member])
    rule(
        channel,
        integration,
        [
            {"delay_minutes": 0, "schedule_ids": [schedule.id]},
            {"delay_minutes": 30, "member_ids": [owner.member.id]},
        ],
    )
    return factories.incident(owner.account, ch=channel)


LINKS: dict[int, tuple[str, int]] = {}


def timeline(client: FlaskClient, owner: Persona, incident: Incident) -> str:
    """The incident page as the owner sees it, entered from Lark."""
    sign_in(client, owner)
    key, binding = LINKS[owner.member.id]
    with client.session_transaction() as session:
        session["lark"] = {"key": key, "binding": binding}
    answer = client.get(f"/lark/{key}/incidents/{incident.number}")
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


@pytest.mark.now("2026-06-15T02:00:00+00:00")
def test_the_layer_pages_whoever_is_on_call_when_it_fires(
    client: FlaskClient, owner: Persona, member: Persona
) -> None:
    incident = paged(owner, member, core_platform(owner, member))
    assert [r.receive_id for r in rows(incident)] == [seed.LI_LEI.open_id]


@pytest.mark.now("2026-06-10T03:00:00+00:00")
def test_the_timeline_names_the_schedule_it_reached_through(
    client: FlaskClient, owner: Persona, member: Persona
) -> None:
    incident = paged(owner, member, core_platform(owner, member))
    assert [r.receive_id for r in rows(incident)] == [seed.HAN_MEIMEI.open_id]
    assert rows(incident)[0].payload["target"] == member.member.name
    assert rows(incident)[0].payload["on_call_in"] == "Core Platform primary"


@pytest.mark.now("2026-06-10T03:00:00+00:00")
def test_the_on_call_label_is_drawn_in_the_reader_s_language(
    client: FlaskClient, owner: Persona, member: Persona, lark: Any
) -> None:
    import flask_babel

    incident = paged(owner, member, core_platform(owner, member))
    while outbox.run_once():
        pass
    [notified] = [e for e in incident.events if e.kind == "notified"]
    assert notified.details["on_call_in"] == "Core Platform primary"
    page = timeline(client, owner, incident)
    assert f"to {member.member.name} (on call in Core Platform primary)" in page
    owner.member.locale = "zh"
    db.session.commit()
    flask_babel.refresh()
    page = client.get(f"/lark/{LINKS[owner.member.id][0]}/incidents/{incident.number}")
    assert f"发给 {member.member.name}（Core Platform primary 值班）" in page.get_data(as_text=True)


def test_lines_stored_in_english_before_are_read_back_in_chinese(app: Any) -> None:
    import flask_babel

    from webapp.views.schedule_words import notified_target

    legacy = {"target": "Han Meimei (on call in Core Platform primary)"}
    with flask_babel.force_locale("zh"):
        assert notified_target(legacy) == "发给 Han Meimei（Core Platform primary 值班）"
    with flask_babel.force_locale("en"):
        assert notified_target({"target": "Li Lei"}) == "to Li Lei"


@pytest.mark.now("2026-06-15T02:00:00+00:00")
def test_nobody_on_call_is_a_visible_failure_and_the_next_layer_fires_at_once(
    client: FlaskClient, owner: Persona, member: Persona
) -> None:
    schedule = Schedule(account_id=owner.account.id, name="Empty rota")
    db.session.add(schedule)
    db.session.commit()
    incident = paged(owner, member, schedule)
    assert rows(incident) == []
    (escalation,) = rows(incident, "escalate")
    assert escalation.next_attempt_at <= utcnow()
    _run_escalations(0)
    assert [(r.receive_id, r.layer) for r in rows(incident)] == [(seed.LI_LEI.open_id, 1)]
    page = timeline(client, owner, incident)
    assert "nobody is on call in Empty rota; the next layer is told at once" in page


def test_a_schedule_of_another_account_is_never_paged(
    owner: Persona, member: Persona, outsider: Persona
) -> None:
    theirs = core_platform(outsider, factories.persona("member", outsider.account))
    incident = paged(owner, member, theirs)
    assert rows(incident) == []
    assert db.session.query(Delivery).filter_by(receive_id=seed.HAN_MEIMEI.open_id).count() == 0


def _card_text(incident: Incident, locale: str) -> str:
    from webapp.cards.render import incident_card

    db.session.refresh(incident)
    return json.dumps(
        incident_card(incident, locale=locale, web_url="https://x/"), ensure_ascii=False
    )


@pytest.mark.now("2026-06-15T02:00:00+00:00")
def test_an_unassigned_incident_card_names_who_is_on_call_for_its_channel(
    owner: Persona, member: Persona
) -> None:
    incident = paged(owner, member, core_platform(owner, member))
    assert not incident.assignees
    line = f"On call: {owner.member.name} (Core Platform primary) until 2026-06-22 01:00 UTC"
    assert line in _card_text(incident, "en")
    assert (
        f"值班：{owner.member.name}（Core Platform primary），至 2026-06-22 09:00 UTC+8"
        in _card_text(incident, "zh")
    )


@pytest.mark.now("2026-06-15T02:00:00+00:00")
def test_an_assigned_incident_card_names_its_assignees_not_the_schedule(
    owner: Persona, member: Persona
) -> None:
    incident = paged(owner, member, core_platform(owner, member))
    incident.assignees.append(member.member)
    db.session.commit()
    text = _card_text(incident, "en")
    assert f"Assignees: {member.member.name}" in text
    assert "On call:" not in text
