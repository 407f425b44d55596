"""People in a schedule not linked to Lark: their shift reminder comes by e-mail when SMTP_URL
is set; otherwise the schedule page names them and says how to link."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import refresh
from sqlalchemy import delete, select

from tests.conftest import sign_in
from tests.factories import Persona
from tests.test_schedule_reminders import HANDOFF, make_setup
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.models import Delivery, DeliveryStatus, LarkBinding, Schedule, utcnow
from webapp.sandbox import inbox as sandbox_inbox
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox
from webapp.schedules import reminders

LINK_STEP = "To link it: open the On-call app from the Lark workbench once and sign in."


@pytest.fixture
def schedule(owner: Persona, member: Persona, lark: LarkSandbox) -> Schedule:
    """The owner (linked) and Li Lei (not linked to Lark) in a daily rotation; Li Lei's shift
    starts at 09:00 Beijing on 16 June."""
    found, _ = make_setup(owner, member)
    db.session.execute(delete(LarkBinding).where(LarkBinding.member_id == member.member.id))
    db.session.commit()
    return found


def deliver() -> None:
    while outbox.run_once(utcnow()):
        pass


def page_of(client: FlaskClient, schedule: Schedule) -> str:
    return client.get(f"/schedules/{schedule.id}").get_data(as_text=True)


@pytest.mark.now("2026-06-16T00:40:00+00:00")
def test_someone_not_linked_gets_the_reminder_by_e_mail_once(
    client: FlaskClient,
    schedule: Schedule,
    owner: Persona,
    member: Persona,
    lark: LarkSandbox,
    smtp: sandbox_inbox.Inbox,
) -> None:
    for _ in range(2):
        reminders.queue_due(utcnow())
        deliver()
    [mail] = smtp.to(member.member.email)
    assert mail.subject == "Your on-call shift starts in 20 minutes: Core Platform primary"
    assert "Hello Li Lei," in mail.body
    assert "Shift: Tue 09:00 – Wed 09:00 (UTC+8)" in mail.body
    assert f"/schedules/{schedule.id}" in mail.body
    assert "your Lark account is not linked to the On-call app yet" in mail.body
    assert LINK_STEP in mail.body
    assert lark.messages_to(seed.LI_LEI.open_id) == []
    (row,) = db.session.scalars(select(Delivery).where(Delivery.kind == "shift_reminder"))
    assert (row.status, row.receive_id) == (DeliveryStatus.DELIVERED, member.member.email)
    sign_in(client, owner)
    page = page_of(client, schedule)
    assert "Not linked to Lark, reminded by e-mail instead: Li Lei." in page
    assert "will get no reminder" not in page


@pytest.mark.now("2026-06-16T00:40:00+00:00")
def test_the_e_mail_speaks_the_person_s_language(
    schedule: Schedule, member: Persona, smtp: sandbox_inbox.Inbox
) -> None:
    member.member.locale = "zh"
    db.session.commit()
    reminders.queue_due(utcnow())
    deliver()
    [mail] = smtp.to(member.member.email)
    assert mail.subject == "你的值班将在 20 分钟后开始: Core Platform primary"
    assert "班次：周二 09:00 – 周三 09:00 (UTC+8)" in mail.body


@pytest.mark.now("2026-06-16T00:40:00+00:00")
def test_without_smtp_the_page_names_who_gets_no_reminder_and_how_to_link(
    app: Flask, client: FlaskClient, schedule: Schedule, owner: Persona, member: Persona
) -> None:
    assert not app.config.get("SMTP_URL")
    reminders.queue_due(utcnow())
    assert db.session.scalars(select(Delivery)).all() == []  # nothing Lark or mail could send
    sign_in(client, owner)
    page = page_of(client, schedule)
    assert "1 person in this schedule will get no reminder: not linked to Lark (Li Lei)." in page
    assert LINK_STEP in page
    owner.member.locale = "zh"
    db.session.commit()
    refresh()  # the test's app context outlives each request: forget the last one's locale
    page = page_of(client, schedule)
    assert "本排班中有 1 人收不到提醒：未关联 Lark（Li Lei）。" in page
    assert "关联方法：在 Lark 工作台打开值班应用并登录一次。" in page
    schedule.reminder_minutes = 0  # no reminders at all: nothing to warn about
    db.session.commit()
    assert "will get no reminder" not in page_of(client, schedule)


@pytest.mark.now("2026-06-16T00:40:00+00:00")
def test_a_mail_server_that_stays_down_is_retried_until_the_shift_starts_then_dropped(
    app: Flask,
    client: FlaskClient,
    schedule: Schedule,
    owner: Persona,
    member: Persona,
    monkeypatch: pytest.MonkeyPatch,
    clock: time_machine.Traveller,
) -> None:
    monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{sandbox_inbox.free_port()}")
    monkeypatch.setitem(app.config, "MAIL_FROM", "oncall@example.com")
    reminders.queue_due(utcnow())
    deliver()
    (row,) = db.session.scalars(select(Delivery).where(Delivery.kind == "shift_reminder"))
    assert (row.status, row.reason) == (DeliveryStatus.PENDING, "smtp")
    assert row.last_error
    clock.move_to(HANDOFF + timedelta(minutes=1))
    deliver()
    db.session.refresh(row)
    assert (row.status, row.reason) == (DeliveryStatus.CANCELLED, "shift_started")
    sign_in(client, owner)
    page = page_of(client, schedule)
    assert "Shift reminder to Li Lei" in page and "dropped rather than sent late" in page
