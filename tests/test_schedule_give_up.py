"""Cover cards, shift reminders and handoff posts Lark keeps refusing: they give up inside
Lark's one-hour uuid de-duplication (never a second copy), a reminder is never sent after its
shift started, and the schedule page says what was not sent to those who should know."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import csrf_token, sign_in
from tests.factories import Persona
from tests.test_schedule_cover import Team, ask, make_team
from tests.test_schedule_reminders import HANDOFF, make_setup
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.models import Delivery, DeliveryStatus, LarkIntegration, Schedule, utcnow
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox
from webapp.schedules import reminders

MESSAGES = "/open-apis/im/v1/messages"


@pytest.fixture
def team(owner: Persona, lark: LarkSandbox, live_server: str) -> Team:
    return make_team(owner, lark, live_server)


@pytest.fixture
def setup(owner: Persona, member: Persona, lark: LarkSandbox) -> tuple[Schedule, LarkIntegration]:
    return make_setup(owner, member)


def work_for(clock: time_machine.Traveller, minutes: int, step: int = 2) -> None:
    """The worker running every `step` minutes for `minutes` minutes of the clock."""
    for _ in range(0, minutes, step):
        clock.shift(timedelta(minutes=step))
        while outbox.run_once(utcnow()):
            pass


def sends(lark: LarkSandbox, uuid: str) -> list[float]:
    return [c.at for c in lark.calls(MESSAGES, "POST") if (c.body or {}).get("uuid") == uuid]


def page_of(client: FlaskClient, schedule: Schedule) -> str:
    return client.get(f"/schedules/{schedule.id}").get_data(as_text=True)


@pytest.mark.now("2026-06-15T02:00:00+00:00")
def test_a_cover_card_lark_keeps_failing_gives_up_within_the_hour_and_the_asker_sees_it(
    client: FlaskClient, team: Team, lark: LarkSandbox, clock: time_machine.Traveller
) -> None:
    lark.fail(MESSAGES, status=500)
    assert ask(client, team)[0] == 303
    work_for(clock, 90)
    rows = db.session.scalars(select(Delivery).where(Delivery.kind == "cover_card")).all()
    assert {(r.status, r.reason) for r in rows} == {(DeliveryStatus.FAILED, "server")}
    for row in rows:
        tried = sends(lark, row.uuid)
        assert len(tried) > 3  # retried for a while ...
        assert max(tried) - min(tried) < 3600  # ... but only while Lark still drops a repeat
        assert row.last_error and row.last_error.startswith("gave up after")
    lark.clear_faults()
    work_for(clock, 10)
    assert lark.messages_to(seed.LI_LEI.open_id) == []  # failed rows stay failed
    page = page_of(client, team.schedule)  # Han Meimei asked
    assert "Not delivered to Li Lei: Lark kept failing for 55 minutes (server)" in page
    assert "Not delivered to Wang Fang:" in page


@pytest.mark.now("2026-06-15T02:00:00+00:00")
def test_only_the_asker_and_admins_see_that_a_cover_card_was_not_delivered(
    client: FlaskClient, team: Team, lark: LarkSandbox, clock: time_machine.Traveller
) -> None:
    lark.fail(MESSAGES, code=99991672)  # permanent: the app lacks a permission
    ask(client, team)
    work_for(clock, 4)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/schedules")})
    sign_in(client, team.wang)
    page = page_of(client, team.schedule)
    assert "Han Meimei needs cover" in page
    assert "Not delivered to" not in page


@pytest.mark.now("2026-06-16T00:40:00+00:00")  # 20 minutes before Li Lei's shift
def test_a_reminder_lark_refuses_until_the_shift_started_is_dropped_not_sent_late(
    client: FlaskClient,
    setup: tuple[Schedule, LarkIntegration],
    owner: Persona,
    lark: LarkSandbox,
    clock: time_machine.Traveller,
) -> None:
    schedule, _ = setup
    lark.fail(MESSAGES, status=503, seconds=25 * 60)  # Lark is back at 01:05
    reminders.queue_due(utcnow())
    work_for(clock, 40)
    (row,) = db.session.scalars(select(Delivery).where(Delivery.kind == "shift_reminder"))
    assert row.status is DeliveryStatus.CANCELLED and row.reason == "shift_started"
    tried = sends(lark, row.uuid)
    assert tried and max(tried) < HANDOFF.timestamp()
    assert lark.messages_to(seed.LI_LEI.open_id) == []
    sign_in(client, owner)
    page = page_of(client, schedule)
    assert "Shift reminder to Li Lei" in page
    assert "Not sent before the shift started, so it was dropped rather than sent late." in page


@pytest.mark.now("2026-06-16T00:40:00+00:00")
def test_a_reminder_found_only_after_its_shift_started_is_never_sent(
    setup: tuple[Schedule, LarkIntegration], lark: LarkSandbox, clock: time_machine.Traveller
) -> None:
    reminders.queue_due(utcnow())  # queued in time, but the worker was down until 01:00:30
    clock.move_to(HANDOFF + timedelta(seconds=30))
    while outbox.run_once(utcnow()):
        pass
    (row,) = db.session.scalars(select(Delivery).where(Delivery.kind == "shift_reminder"))
    assert (row.status, row.reason) == (DeliveryStatus.CANCELLED, "shift_started")
    assert sends(lark, row.uuid) == []


@pytest.mark.now("2026-06-16T00:59:40+00:00")
def test_a_reminder_twenty_seconds_before_the_shift_says_one_minute(
    setup: tuple[Schedule, LarkIntegration], lark: LarkSandbox
) -> None:
    reminders.queue_due(utcnow())
    while outbox.run_once(utcnow()):
        pass
    (message,) = lark.messages_to(seed.LI_LEI.open_id)
    assert message.title == "Your on-call shift starts in 1 minute"


@pytest.mark.now("2026-06-16T01:01:00+00:00")
def test_a_handoff_post_lark_keeps_failing_gives_up_and_only_admins_see_it(
    client: FlaskClient,
    setup: tuple[Schedule, LarkIntegration],
    owner: Persona,
    member: Persona,
    lark: LarkSandbox,
    clock: time_machine.Traveller,
) -> None:
    schedule, _ = setup
    schedule.handoff_chat_id = seed.ONCALL_CHAT.chat_id
    schedule.reminder_minutes = 0
    db.session.commit()
    lark.fail(MESSAGES, status=502)
    reminders.queue_due(utcnow())
    work_for(clock, 80, step=4)
    (row,) = db.session.scalars(select(Delivery).where(Delivery.kind == "handoff_post"))
    assert (row.status, row.reason) == (DeliveryStatus.FAILED, "server")
    tried = sends(lark, row.uuid)
    assert len(tried) > 3 and max(tried) - min(tried) < 3600
    sign_in(client, owner)
    page = page_of(client, schedule)
    assert f"Handoff post to {seed.ONCALL_CHAT.chat_id}" in page
    assert "Lark kept failing for 55 minutes (server)" in page
    client.post("/logout", data={"csrf_token": csrf_token(client, "/schedules")})
    sign_in(client, member)
    assert "Handoff post to" not in page_of(client, schedule)
