"""Maintenance windows: booked ahead, weekly in a time zone, across DST, told in the chats."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.factories import Persona
from tests.silences_support import firing, kinds, pages, paging_channel, post
from tests.test_dispatch import CHAT
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.incidents.service import Actor
from webapp.models import Channel, Delivery, DeliveryStatus, MaintenanceWindow, Silence, Source
from webapp.sandbox.handle import LarkSandbox
from webapp.silences import tick, windows
from webapp.silences.matchers import parse

BERLIN = "Europe/Berlin"  # leaves summer time on Sunday 25 October 2026, 03:00 → 02:00


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def book(
    owner: Persona, channel: Channel | None, *, weekly: bool = True, page: bool = True, **kw: object
) -> MaintenanceWindow:
    data = windows.WindowInput(
        name=str(kw.get("name", "Sunday switchover")),
        channel_id=channel.id if channel else None,
        matchers=[parse(str(m)) for m in kw.get("matchers", [])],  # type: ignore[attr-defined]
        timezone=str(kw.get("timezone", BERLIN)),
        start_date=kw.get("start_date", date(2026, 10, 18)),  # type: ignore[arg-type]
        start_time=time(22, 0),
        duration_minutes=int(kw.get("minutes", 120)),  # type: ignore[call-overload]
        weekly=weekly,
        page_at_end=page,
    )
    return windows.save(owner.account.id, data, Actor(owner.member, Source.WEB))


def chat_cards() -> list[Delivery]:
    return list(
        db.session.scalars(
            select(Delivery).where(Delivery.kind == "maintenance").order_by(Delivery.id)
        )
    )


@pytest.mark.now("2026-10-18T12:00:00+00:00")
def test_a_weekly_window_keeps_its_local_time_across_the_dst_change(owner: Persona) -> None:
    window = book(owner, None, matchers=["env=staging"])

    starts = [o.starts_at for o in windows.upcoming(window, utc("2026-10-18T12:00:00"))]

    # 22:00 in Berlin: 20:00 UTC in summer time, 21:00 UTC after the change.
    assert starts == [
        utc("2026-10-18T20:00:00"),
        utc("2026-10-25T21:00:00"),
        utc("2026-11-01T21:00:00"),
    ]
    [booked] = window.silences
    assert (booked.starts_at, booked.ends_at) == (
        utc("2026-10-18T20:00:00"),
        utc("2026-10-18T22:00:00"),
    )


@pytest.mark.now("2026-10-20T10:00:00+00:00")
def test_the_weekly_start_after_the_dst_change_cancels_a_pending_escalation(
    client: FlaskClient, owner: Persona, clock: time_machine.Traveller
) -> None:
    channel, source = paging_channel(owner)
    book(owner, channel, start_date=date(2026, 10, 18))
    tick.run()  # the worker passes now and then: the occurrence of the 18th is long over
    clock.move_to(utc("2026-10-25T20:55:00"))
    incident = post(client, source, firing())
    [step] = db.session.scalars(
        select(Delivery).where(Delivery.incident_id == incident.id, Delivery.kind == "escalate")
    )

    clock.move_to(utc("2026-10-25T20:30:00"))  # 22:30 on summer time, 21:30 on winter time
    assert tick.run() == 0
    clock.move_to(utc("2026-10-25T21:00:30"))
    assert tick.run() == 1

    db.session.refresh(step)
    db.session.refresh(incident)
    assert step.status is DeliveryStatus.CANCELLED
    assert incident.silence_id is not None
    assert kinds(incident)[-1] == "silenced"
    [began] = chat_cards()
    assert began.receive_id == CHAT
    # The demo integration is on Feishu: its chats read Chinese.
    assert "维护开始：Sunday switchover" in str(began.payload["card"])


@pytest.mark.now("2026-10-25T20:00:00+00:00")
def test_the_end_tells_what_arrived_and_pages_what_is_still_open(
    client: FlaskClient, owner: Persona, clock: time_machine.Traveller, lark: LarkSandbox
) -> None:
    channel, source = paging_channel(owner)
    window = book(owner, channel, start_date=date(2026, 10, 25), minutes=60)
    clock.move_to(utc("2026-10-25T21:00:01"))
    tick.run()
    first = post(client, source, firing())
    second = post(client, source, firing("HighLoad", fingerprint="beef"))
    # Re-sent while firing (a restarted Prometheus, a new startsAt): the same alert, not a third.
    assert post(client, source, firing()).id == first.id
    assert pages(first) == pages(second) == []

    clock.move_to(utc("2026-10-25T22:00:01"))
    assert tick.run() == 1
    outbox.run_once()

    ended = chat_cards()[-1]
    assert "2 条告警，2 个故障仍未关闭" in str(ended.payload["card"])  # Feishu: Chinese
    assert len(pages(first)) == 2 and len(pages(second)) == 2
    texts = [json.dumps(json.loads(m.content), ensure_ascii=False) for m in lark.messages_to(CHAT)]
    assert any("维护开始" in t for t in texts)
    assert any("2 条告警，2 个故障仍未关闭" in t for t in texts)
    following = db.session.scalars(
        select(Silence.starts_at).where(Silence.window_id == window.id, Silence.begun_at.is_(None))
    ).all()
    assert following == [utc("2026-11-01T21:00:00")]


@pytest.mark.now("2026-10-25T21:10:00+00:00")
def test_a_window_that_does_not_page_at_its_end_only_releases(
    client: FlaskClient, owner: Persona, clock: time_machine.Traveller
) -> None:
    channel, source = paging_channel(owner)
    book(owner, channel, weekly=False, page=False, start_date=date(2026, 10, 25), minutes=60)
    incident = post(client, source, firing())
    assert incident.silence_id is not None  # booked while under way: it holds at once

    clock.move_to(utc("2026-10-25T22:00:01"))
    tick.run()

    db.session.refresh(incident)
    assert incident.silence_id is None and pages(incident) == []
    assert "此维护窗口结束时不发送通知" in str(chat_cards()[-1].payload["card"])


@pytest.mark.now("2026-10-25T21:10:00+00:00")
def test_a_window_needs_a_scope_a_zone_and_a_future(owner: Persona) -> None:
    with pytest.raises(windows.WindowInvalid) as refused:
        book(owner, None, weekly=False, timezone="Mars/Olympus", start_date=date(2026, 10, 1))
    assert set(refused.value.errors) == {"matchers", "timezone"}
    with pytest.raises(windows.WindowInvalid) as past:
        book(owner, None, weekly=False, matchers=["env=dev"], start_date=date(2026, 10, 1))
    assert set(past.value.errors) == {"start_date"}
    assert db.session.scalars(select(MaintenanceWindow)).all() == []
