"""Shift reminders: a Lark DM before each shift, with the open incidents it inherits, sent once;
and a post to the schedule's group chat at each handoff."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import factories
from tests.conftest import csrf_token, sign_in
from tests.factories import Persona
from tests.test_dispatch import bind, rule
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.models import (
    Delivery,
    DeliveryStatus,
    LarkApiEvent,
    LarkIntegration,
    Platform,
    Schedule,
    ScheduleLayer,
    utcnow,
)
from webapp.sandbox import card_rules, seed
from webapp.sandbox.handle import LarkSandbox
from webapp.schedules import reminders

# Daily shifts handing off at 09:00 Beijing (01:00 UTC): the owner on 15 June, Li Lei on the 16th.
HANDOFF = datetime.fromisoformat("2026-06-16T01:00:00+00:00")


@pytest.fixture
def setup(owner: Persona, member: Persona, lark: LarkSandbox) -> tuple[Schedule, LarkIntegration]:
    return make_setup(owner, member)


def make_setup(owner: Persona, member: Persona) -> tuple[Schedule, LarkIntegration]:
    """A daily rotation of the owner and Li Lei (a member), both linked to Lark."""
    owner.member.locale = "en"
    member.member.name, member.member.locale = "Li Lei", "en"
    integration = factories.lark_integration(owner.account)
    integration.platform = Platform.LARK
    bind(integration, owner.member, seed.HAN_MEIMEI.open_id)
    bind(integration, member.member, seed.LI_LEI.open_id)
    schedule = Schedule(account_id=owner.account.id, name="Core Platform primary")
    schedule.layers.append(
        ScheduleLayer(
            name="Daily",
            member_ids=[owner.member.id, member.member.id],
            shift_kind="daily",
            handoff_minute=9 * 60,
            timezone="Asia/Shanghai",
            rotation_start=date(2026, 6, 15),
        )
    )
    db.session.add(schedule)
    db.session.commit()
    return schedule, integration


def deliver(now: datetime) -> None:
    while outbox.run_once(now):
        pass


def reminders_to(lark: LarkSandbox, open_id: str) -> list[str]:
    return [m.title for m in lark.messages_to(open_id)]


@pytest.mark.now("2026-06-16T00:29:00+00:00")  # 08:29 Beijing: 31 minutes before the handoff
def test_the_reminder_goes_out_thirty_minutes_before_the_shift_and_only_once(
    setup: tuple[Schedule, LarkIntegration], lark: LarkSandbox
) -> None:
    reminders.queue_due(utcnow())
    deliver(utcnow())
    assert reminders_to(lark, seed.LI_LEI.open_id) == []  # not yet
    for minute in (30, 29, 10):  # three worker passes inside the window
        now = HANDOFF - timedelta(minutes=minute)
        reminders.queue_due(now)
        deliver(now)
    assert reminders_to(lark, seed.LI_LEI.open_id) == ["Your on-call shift starts in 30 minutes"]
    assert reminders_to(lark, seed.HAN_MEIMEI.open_id) == []  # her shift is ending, not starting
    (row,) = db.session.scalars(select(Delivery).where(Delivery.kind == "shift_reminder"))
    assert row.status is DeliveryStatus.DELIVERED


@pytest.mark.now("2026-06-16T00:40:00+00:00")
def test_the_reminder_lists_the_open_incidents_the_shift_takes_over(
    setup: tuple[Schedule, LarkIntegration], lark: LarkSandbox, owner: Persona
) -> None:
    schedule, integration = setup
    channel = factories.channel(owner.account, [owner.member])
    rule(channel, integration, [{"delay_minutes": 0, "schedule_ids": [schedule.id]}])
    open_one = factories.incident(owner.account, title="db-01 is down", ch=channel)
    closed = factories.incident(owner.account, title="disk full on web-3", ch=channel)
    from webapp.incidents import service as incidents
    from webapp.incidents.service import Actor

    incidents.resolve(closed, Actor.api(), closed.version)
    elsewhere = factories.incident(owner.account, title="not ours")
    db.session.query(Delivery).delete()  # the incident cards are not what this test reads
    db.session.commit()
    reminders.queue_due(utcnow())
    deliver(utcnow())
    (message,) = lark.messages_to(seed.LI_LEI.open_id)
    card_rules.check(message.card)
    text = str(message.card)
    assert message.title == "Your on-call shift starts in 20 minutes"
    assert "Open incidents you take over (1):" in text
    assert f"#{open_one.number} db-01 is down" in text
    assert "disk full" not in text and elsewhere.title not in text
    assert "Shift: Tue 09:00 – Wed 09:00 (UTC+8)" in text


@pytest.mark.now("2026-06-16T00:40:00+00:00")
def test_a_schedule_set_to_no_reminders_sends_none_and_the_lead_is_per_schedule(
    setup: tuple[Schedule, LarkIntegration], lark: LarkSandbox
) -> None:
    schedule, _ = setup
    schedule.reminder_minutes = 0
    db.session.commit()
    reminders.queue_due(utcnow())
    assert db.session.scalars(select(Delivery)).all() == []
    schedule.reminder_minutes = 10  # 20 minutes before: too early for a 10-minute lead
    db.session.commit()
    reminders.queue_due(utcnow())
    assert db.session.scalars(select(Delivery)).all() == []
    reminders.queue_due(HANDOFF - timedelta(minutes=10))
    assert len(db.session.scalars(select(Delivery)).all()) == 1


@pytest.mark.now("2026-06-16T01:02:00+00:00")
def test_the_group_chat_is_told_who_is_on_call_at_the_handoff(
    setup: tuple[Schedule, LarkIntegration], lark: LarkSandbox
) -> None:
    schedule, integration = setup
    schedule.handoff_chat_id = seed.ONCALL_CHAT.chat_id
    integration.platform = Platform.FEISHU  # a group's card speaks the platform's language
    db.session.commit()
    for _ in range(2):
        reminders.queue_due(utcnow())
        deliver(utcnow())
    (post,) = lark.messages_to(seed.ONCALL_CHAT.chat_id)
    card_rules.check(post.card)
    assert post.title == "当前值班 · Core Platform primary"
    assert "Li Lei 在 Core Platform primary 值班：周二 09:00 – 周三 09:00 (UTC+8)" in str(post.card)


@pytest.mark.now("2026-06-15T01:05:00+00:00")
def test_a_weekly_handoff_is_posted_as_on_call_this_week(
    setup: tuple[Schedule, LarkIntegration], lark: LarkSandbox
) -> None:
    schedule, _ = setup
    schedule.layers[0].shift_kind = "weekly"
    schedule.layers[0].handoff_weekday = 0
    schedule.handoff_chat_id = seed.ONCALL_CHAT.chat_id
    db.session.commit()
    reminders.queue_due(utcnow())
    deliver(utcnow())
    (post,) = lark.messages_to(seed.ONCALL_CHAT.chat_id)
    assert post.title == "On call this week · Core Platform primary"


@pytest.mark.now("2026-06-16T00:40:00+00:00")
def test_reminders_wait_for_the_reset_when_the_monthly_quota_is_used_up(
    setup: tuple[Schedule, LarkIntegration], lark: LarkSandbox
) -> None:
    _, integration = setup
    db.session.add(
        LarkApiEvent(
            integration_id=integration.id, path="/im/v1/messages", code=99991403, kind="quota"
        )
    )
    db.session.commit()
    reminders.queue_due(utcnow())
    deliver(utcnow())
    (row,) = db.session.scalars(select(Delivery).where(Delivery.kind == "shift_reminder"))
    assert row.status is DeliveryStatus.PENDING and row.reason == "quota"
    assert row.next_attempt_at == datetime.fromisoformat("2026-06-30T16:00:00+00:00")
    assert lark.messages_to(seed.LI_LEI.open_id) == []


@pytest.mark.now("2026-06-16T00:40:00+00:00")
def test_flask_lark_remind_queues_what_is_due_for_cron(
    app: Flask, setup: tuple[Schedule, LarkIntegration]
) -> None:
    result = app.test_cli_runner().invoke(args=["lark", "remind"])
    assert result.exit_code == 0, result.output
    assert "looked at 1 reminder(s)" in result.output
    assert len(db.session.scalars(select(Delivery)).all()) == 1


def test_admins_set_the_reminder_and_bad_input_keeps_what_was_typed(
    client: FlaskClient, owner: Persona, member: Persona
) -> None:
    schedule = Schedule(account_id=owner.account.id, name="Rota")
    db.session.add(schedule)
    db.session.commit()
    path = f"/schedules/{schedule.id}"
    sign_in(client, owner)
    bad = {"minutes": "soon", "chat_id": "oc_abc", "csrf_token": csrf_token(client, path)}
    answer = client.post(f"{path}/reminders", data=bad)
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "the reminder is a number of minutes from 0 (none) to 1440" in page
    assert 'value="soon"' in page and 'value="oc_abc"' in page
    good = {"minutes": "45", "chat_id": "oc_abc", "csrf_token": csrf_token(client, path)}
    assert client.post(f"{path}/reminders", data=good).status_code == 303
    db.session.refresh(schedule)
    assert (schedule.reminder_minutes, schedule.handoff_chat_id) == (45, "oc_abc")
    client.post("/logout", data={"csrf_token": csrf_token(client, path)})
    sign_in(client, member)
    good["csrf_token"] = csrf_token(client, path)
    assert client.post(f"{path}/reminders", data=good).status_code == 403


@pytest.mark.now("2026-06-16T00:40:00+00:00")
def test_the_worker_loop_looks_once_a_minute(
    setup: tuple[Schedule, LarkIntegration], monkeypatch: pytest.MonkeyPatch
) -> None:
    from webapp.delivery import schedule_kinds

    looked: list[datetime] = []
    monkeypatch.setattr(schedule_kinds, "_looked", {})
    monkeypatch.setattr(reminders, "queue_due", looked.append)
    now = utcnow()
    for seconds in (0, 20, 59, 60, 61):
        schedule_kinds.queue_reminders(now + timedelta(seconds=seconds))
    assert looked == [now, now + timedelta(seconds=60)]


@pytest.mark.now("2026-06-16T00:40:00+00:00")
def test_a_failure_while_queueing_reminders_does_not_hold_back_deliveries(
    setup: tuple[Schedule, LarkIntegration], monkeypatch: pytest.MonkeyPatch
) -> None:
    from webapp.delivery import schedule_kinds

    def broken(now: datetime) -> int:
        raise RuntimeError("bug")

    monkeypatch.setattr(schedule_kinds, "_looked", {})
    monkeypatch.setattr(reminders, "queue_due", broken)
    schedule_kinds.queue_reminders(utcnow())  # logged, not raised: the worker loop goes on
    assert db.session.scalars(select(Delivery)).all() == []
