"""Choosing "whoever is on call in schedule S" in the rule form, and what it does when it fires."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import factories
from tests.conftest import csrf_token, sign_in
from tests.factories import Persona
from tests.test_dispatch import bind, rows
from tests.test_schedule_dispatch import LINKS, core_platform, timeline
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.models import Channel, DispatchRule, LarkIntegration, Schedule, utcnow
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox


def _setup(owner: Persona, member: Persona) -> tuple[LarkIntegration, Channel, str]:
    integration = factories.lark_integration(owner.account)
    LINKS[owner.member.id] = (
        integration.key,
        bind(integration, owner.member, seed.LI_LEI.open_id).id,
    )
    bind(integration, member.member, seed.HAN_MEIMEI.open_id)
    channel = factories.channel(owner.account, [owner.member, member.member], name="Core")
    return integration, channel, f"/admin/channels/{channel.id}/dispatch"


def _save(client: FlaskClient, path: str, integration: LarkIntegration, **fields: object) -> str:
    data = {
        "csrf_token": csrf_token(client, f"{path}/new"),
        "name": "Page the rota",
        "integration_id": integration.id,
        "enabled": "1",
        **fields,
    }
    response = client.post(f"{path}/new", data=data)
    return f"{response.status_code} {response.get_data(as_text=True)}"


@pytest.mark.now("2026-06-10T03:00:00+00:00")
def test_the_form_lists_the_account_s_schedules_with_who_is_on_call_now(
    client: FlaskClient, owner: Persona, member: Persona, outsider: Persona, lark: LarkSandbox
) -> None:
    core_platform(owner, member)
    core_platform(outsider, factories.persona("member", outsider.account)).name = "Theirs"
    db.session.commit()
    _, _, path = _setup(owner, member)
    sign_in(client, owner)

    page = client.get(f"{path}/new").get_data(as_text=True)

    assert f"Core Platform primary (on call now: {member.member.name})" in re.sub(
        r"\s+", " ", re.sub(r"<[^>]+>", "", page)
    )
    assert "Theirs" not in page


@pytest.mark.now("2026-06-10T03:00:00+00:00")
def test_a_rule_saved_with_only_a_schedule_pages_whoever_is_on_call_when_it_fires(
    client: FlaskClient, owner: Persona, member: Persona, lark: LarkSandbox
) -> None:
    schedule = core_platform(owner, member)
    integration, channel, path = _setup(owner, member)
    sign_in(client, owner)

    answer = _save(client, path, integration, **{"layer0-schedule": str(schedule.id)})

    assert answer.startswith("303"), answer
    rule = db.session.scalars(select(DispatchRule).where(DispatchRule.position == 1)).one()
    assert rule.layers[0]["schedule_ids"] == [schedule.id]
    policy = client.get(path).get_data(as_text=True)
    assert "At once:" in policy and "on call in Core Platform primary" in policy

    incident = factories.incident(owner.account, ch=channel)
    assert [r.receive_id for r in rows(incident)] == [seed.HAN_MEIMEI.open_id]
    while outbox.run_once():
        pass
    page = timeline(client, owner, incident)
    assert f"to {member.member.name} (on call in Core Platform primary)" in page


@pytest.mark.now("2026-06-15T02:00:00+00:00")
def test_the_same_rule_pages_the_next_person_a_week_later(
    client: FlaskClient, owner: Persona, member: Persona, lark: LarkSandbox
) -> None:
    schedule = core_platform(owner, member)
    integration, channel, path = _setup(owner, member)
    sign_in(client, owner)
    assert _save(client, path, integration, **{"layer0-schedule": str(schedule.id)})[:3] == "303"

    incident = factories.incident(owner.account, ch=channel)

    assert [r.receive_id for r in rows(incident)] == [seed.LI_LEI.open_id]


def test_a_schedule_of_another_account_is_refused_and_the_form_keeps_what_was_typed(
    client: FlaskClient, owner: Persona, member: Persona, outsider: Persona, lark: LarkSandbox
) -> None:
    theirs = core_platform(outsider, factories.persona("member", outsider.account))
    integration, _, path = _setup(owner, member)
    sign_in(client, owner)

    answer = _save(
        client,
        path,
        integration,
        **{"name": "Kept name", "labels": "service=db", "layer0-schedule": str(theirs.id)},
    )

    assert answer.startswith("422")
    assert "Choose schedules of this account" in answer
    assert 'value="Kept name"' in answer and "service=db" in answer
    assert db.session.scalars(select(DispatchRule)).all() == []


def test_a_layer_with_nothing_chosen_names_schedules_among_the_choices(
    client: FlaskClient, owner: Persona, member: Persona, lark: LarkSandbox
) -> None:
    integration, _, path = _setup(owner, member)
    sign_in(client, owner)

    answer = _save(client, path, integration)

    assert answer.startswith("422")
    assert "Choose at least one person, team, chat or schedule to tell." in answer


@pytest.mark.now("2026-06-10T03:00:00+00:00")
def test_a_schedule_deleted_later_shows_as_gone_and_the_next_layer_fires_at_once(
    client: FlaskClient, owner: Persona, member: Persona, lark: LarkSandbox
) -> None:
    schedule = core_platform(owner, member)
    integration, channel, path = _setup(owner, member)
    sign_in(client, owner)
    fields = {
        "layer0-schedule": str(schedule.id),
        "layer1-delay": "5",
        "layer1-member": str(owner.member.id),
    }
    assert _save(client, path, integration, **fields)[:3] == "303"
    db.session.delete(db.session.get(Schedule, schedule.id))
    db.session.commit()

    policy = client.get(path).get_data(as_text=True)
    assert "Some schedules these rules page through were deleted" in policy
    assert "on call in Core Platform primary (the schedule was deleted" in policy
    rule = db.session.scalars(select(DispatchRule).where(DispatchRule.position == 1)).one()
    form = client.get(f"{path}/{rule.id}").get_data(as_text=True)
    assert "deleted: untick it" in form

    incident = factories.incident(owner.account, ch=channel)
    assert rows(incident) == []
    (escalation,) = rows(incident, "escalate")
    assert escalation.next_attempt_at <= utcnow()
    page = timeline(client, owner, incident)
    assert "nobody is on call in Core Platform primary; the next layer is told at once" in page


def test_the_demo_rule_s_second_layer_pages_whoever_is_on_call_in_the_demo_schedule(
    app: Flask, client: FlaskClient
) -> None:
    answer = app.test_cli_runner().invoke(args=["demo", "load"])
    assert answer.exit_code == 0, answer.output
    rule = db.session.scalars(select(DispatchRule).where(DispatchRule.position == 1)).one()
    schedule = db.session.scalars(select(Schedule)).one()
    assert rule.layers[1]["schedule_ids"] == [schedule.id]

    token = csrf_token(client, "/login")
    signed = client.post(
        "/login",
        data={"csrf_token": token, "email": "li.lei@example.com", "password": "oncall-demo"},
    )
    assert signed.status_code in (302, 303)
    page = client.get(f"/admin/channels/{rule.channel_id}/dispatch").get_data(as_text=True)
    assert "After 10 min without acknowledgement:" in page
    assert "on call in Core Platform primary" in page
