"""The outbox worker: cards reach Lark (the sandbox, over real HTTP), failures are retried
or recorded with a reason, and nothing is sent twice."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from tests import factories
from tests.factories import Persona
from tests.test_dispatch import bind, events, rows, rule
from webapp import ratelimit
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.lark import usage
from webapp.models import (
    ApiUsage,
    CardMessage,
    Channel,
    Delivery,
    DeliveryStatus,
    Edition,
    Incident,
    LarkIntegration,
    Source,
    utcnow,
)
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox

SEND = "/open-apis/im/v1/messages"
CHAT = seed.ONCALL_CHAT.chat_id


@pytest.fixture
def setup(owner: Persona, member: Persona, lark: LarkSandbox) -> tuple[LarkIntegration, Channel]:
    integration = factories.lark_integration(owner.account)
    bind(integration, owner.member, seed.LI_LEI.open_id)
    bind(integration, member.member, seed.HAN_MEIMEI.open_id)
    owner.member.locale = "en"  # direct messages follow the person's language
    db.session.commit()
    channel = factories.channel(owner.account, [owner.member, member.member])
    rule(channel, integration, [{"assignees": True, "chat_ids": [CHAT]}])
    return integration, channel


def later(seconds: float) -> None:
    """Run the worker as if `seconds` had passed, so retries fall due without sleeping
    (and our rate-limit windows, which follow the real clock, are empty again)."""
    ratelimit.limiter().reset()
    outbox.run_once(now=utcnow() + timedelta(seconds=seconds))


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the sandbox never got there"
        time.sleep(0.05)


def sent_uuids(lark: LarkSandbox) -> list[str]:
    return [call.body["uuid"] for call in lark.calls(SEND, "POST") if call.code == 0]


def test_it_delivers_the_card_to_people_and_chats(
    setup: tuple[LarkIntegration, Channel], owner: Persona, lark: LarkSandbox
) -> None:
    _, channel = setup
    incident = factories.incident(owner.account, ch=channel, assignees=[owner.member])

    outbox.run_once()

    [to_li] = lark.messages_to(seed.LI_LEI.open_id)
    [to_chat] = lark.messages_to(CHAT)
    assert incident.title in to_li.title and incident.title in to_chat.title
    assert "Acknowledge" in to_li.buttons
    delivered = rows(incident)
    assert {r.status for r in delivered} == {DeliveryStatus.DELIVERED}
    assert {r.message_id for r in delivered} == {to_li.message_id, to_chat.message_id}
    cards = db.session.scalars(select(CardMessage).where(CardMessage.incident_id == incident.id))
    assert {c.rendered_version for c in cards} == {incident.version}
    assert len(events(incident, "notified")) == 2


def test_a_change_updates_the_cards_in_place(
    setup: tuple[LarkIntegration, Channel], owner: Persona, lark: LarkSandbox
) -> None:
    _, channel = setup
    incident = factories.incident(owner.account, ch=channel, assignees=[owner.member])
    outbox.run_once()

    [before] = lark.messages_to(CHAT)

    incidents.acknowledge(incident, Actor(owner.member, Source.WEB))
    outbox.run_once()

    [to_li] = lark.messages_to(seed.LI_LEI.open_id)
    [to_chat] = lark.messages_to(CHAT)
    assert to_li.updates == 1 and to_chat.updates == 1
    assert "Acknowledge" not in to_li.buttons
    assert before.buttons[0] not in to_chat.buttons  # the chat's (Chinese) card changed too
    assert {r.status for r in rows(incident, "update_card")} == {DeliveryStatus.DELIVERED}


def test_server_errors_are_retried_and_the_card_arrives_once(
    setup: tuple[LarkIntegration, Channel], owner: Persona, lark: LarkSandbox
) -> None:
    _, channel = setup
    lark.fail(SEND, status=500, times=2)
    incident = factories.incident(owner.account, ch=channel)  # chat only: no assignees

    outbox.run_once()
    [row] = rows(incident)
    assert row.status is DeliveryStatus.PENDING
    assert (row.attempts, row.last_error_code, row.reason) == (1, 20050, "server")
    assert row.next_attempt_at > utcnow()

    later(5)
    later(60)

    db.session.refresh(row)
    assert row.status is DeliveryStatus.DELIVERED
    assert row.attempts == 3
    assert len(lark.messages_to(CHAT)) == 1


def test_a_timed_out_send_that_reached_lark_is_not_posted_twice(
    setup: tuple[LarkIntegration, Channel], owner: Persona, lark: LarkSandbox, app: Flask
) -> None:
    _, channel = setup
    lark.fail(SEND, hang=1.0, times=1)  # Lark posts the card, but answers too late
    incident = factories.incident(owner.account, ch=channel)
    timeout = app.config["LARK_HTTP_TIMEOUT"]
    app.config["LARK_HTTP_TIMEOUT"] = 0.3
    try:
        outbox.run_once()
        [row] = rows(incident)
        assert (row.status, row.reason) == (DeliveryStatus.PENDING, "network")
        wait_for(lambda: len(lark.messages_to(CHAT)) == 1)  # Lark finished posting it
        later(60)
    finally:
        app.config["LARK_HTTP_TIMEOUT"] = timeout

    db.session.refresh(row)
    assert row.status is DeliveryStatus.DELIVERED
    assert len(lark.messages_to(CHAT)) == 1
    assert sent_uuids(lark).count(row.uuid) == 2  # tried twice, posted once


def test_rate_limit_answers_wait_for_larks_reset_time(
    setup: tuple[LarkIntegration, Channel], owner: Persona, lark: LarkSandbox
) -> None:
    _, channel = setup
    lark.fail(SEND, code=99991400, times=1)
    incident = factories.incident(owner.account, ch=channel)
    before = utcnow()

    outbox.run_once()

    [row] = rows(incident)
    assert (row.status, row.reason, row.last_error_code) == (
        DeliveryStatus.PENDING,
        "rate_limited",
        99991400,
    )
    assert row.next_attempt_at >= before + timedelta(seconds=1)  # x-ogw-ratelimit-reset: 1
    later(30)
    assert len(lark.messages_to(CHAT)) == 1


def test_a_person_outside_the_apps_range_is_recorded_as_not_linked(
    owner: Persona, lark: LarkSandbox
) -> None:
    integration = factories.lark_integration(owner.account)
    bind(integration, owner.member, seed.ZHAO_LEI.open_id)  # outside the availability range
    incident = factories.incident(owner.account, assignees=[owner.member])

    outbox.run_once()
    later(3600)

    [row] = rows(incident)
    assert (row.status, row.reason, row.last_error_code) == (
        DeliveryStatus.FAILED,
        "not_linked",
        230013,
    )
    assert row.attempts == 1
    [event] = events(incident, "notification_failed")
    assert event.details["target"] == owner.member.name
    assert event.details["reason"] == "not_linked"
    assert event.source is Source.SYSTEM


def test_a_chat_the_bot_was_removed_from_fails_as_bot_not_in_chat(
    setup: tuple[LarkIntegration, Channel], owner: Persona, lark: LarkSandbox
) -> None:
    _, channel = setup
    lark.set_bot_in_chat(CHAT, present=False)
    incident = factories.incident(owner.account, ch=channel)

    outbox.run_once()

    # The chat fails; the channel's people (the policy names nobody else) get the card instead.
    [row, *instead] = rows(incident)
    assert (row.status, row.reason, row.last_error_code) == (
        DeliveryStatus.FAILED,
        "bot_not_in_chat",
        230002,
    )
    assert {r.receive_id for r in instead} == {seed.LI_LEI.open_id, seed.HAN_MEIMEI.open_id}
    [event] = events(incident, "notification_failed")
    assert event.details["reason"] == "bot_not_in_chat"


@pytest.fixture
def quota_used_up(setup: tuple[LarkIntegration, Channel], app: Flask) -> Iterator[LarkIntegration]:
    integration, _ = setup
    integration.edition = Edition.FREE
    db.session.add(ApiUsage(integration_id=integration.id, month=usage.month_of(utcnow()), calls=3))
    db.session.commit()
    quota = app.config["LARK_FREE_MONTHLY_QUOTA"]
    app.config["LARK_FREE_MONTHLY_QUOTA"] = 3
    yield integration
    app.config["LARK_FREE_MONTHLY_QUOTA"] = quota


@pytest.mark.now("2026-06-15T10:00:00+08:00")
def test_at_full_free_quota_only_incident_notifications_are_sent(
    setup: tuple[LarkIntegration, Channel],
    owner: Persona,
    lark: LarkSandbox,
    quota_used_up: LarkIntegration,
) -> None:
    _, channel = setup
    incident = factories.incident(owner.account, ch=channel)
    outbox.run_once()
    [card] = lark.messages_to(CHAT)

    incidents.acknowledge(incident, Actor(owner.member, Source.WEB))
    outbox.run_once()

    assert lark.message(card.message_id).updates == 0
    [update] = rows(incident, "update_card")
    assert (update.status, update.reason) == (DeliveryStatus.PENDING, "quota")
    # On 15 June 2026 the quota resets on 1 July, 00:00 Beijing time.
    assert update.next_attempt_at == datetime(2026, 6, 30, 16, 0, tzinfo=UTC)
    assert "resets on 2026-07-01" in (update.last_error or "")


def test_each_row_is_sent_once_by_uuid(
    setup: tuple[LarkIntegration, Channel], owner: Persona, member: Persona, lark: LarkSandbox
) -> None:
    _, channel = setup
    lark.fail(SEND, status=503, times=3)
    made = [
        factories.incident(owner.account, ch=channel, assignees=[owner.member, member.member])
        for _ in range(3)
    ]
    for seconds in (0, 10, 30, 90, 200):
        later(seconds)

    delivered = [r for i in made for r in rows(i)]
    assert {r.status for r in delivered} == {DeliveryStatus.DELIVERED}
    posted = [m.uuid for m in lark.messages_to(CHAT)]
    posted += [m.uuid for m in lark.messages_to(seed.LI_LEI.open_id)]
    posted += [m.uuid for m in lark.messages_to(seed.HAN_MEIMEI.open_id)]
    assert sorted(posted) == sorted(r.uuid for r in delivered)


def test_a_claimed_row_comes_back_when_its_worker_dies(
    setup: tuple[LarkIntegration, Channel], owner: Persona, lark: LarkSandbox
) -> None:
    _, channel = setup
    incident = factories.incident(owner.account, ch=channel)
    now = utcnow()
    [(row_id, _lease)] = outbox.claim(now, 10)  # this worker "dies" here

    assert outbox.claim(now + timedelta(seconds=30), 10) == []
    [(again, lease)] = outbox.claim(now + outbox.LEASE + timedelta(seconds=1), 10)
    outbox.handle(again, lease)

    assert again == row_id
    assert rows(incident)[0].status is DeliveryStatus.DELIVERED
    assert len(lark.messages_to(CHAT)) == 1


def test_a_stale_lease_is_not_handled_twice(
    setup: tuple[LarkIntegration, Channel], owner: Persona, lark: LarkSandbox
) -> None:
    _, channel = setup
    factories.incident(owner.account, ch=channel)
    now = utcnow()
    [(row_id, first_lease)] = outbox.claim(now, 10)
    [(_same, second_lease)] = outbox.claim(now + outbox.LEASE + timedelta(seconds=1), 10)

    outbox.handle(row_id, second_lease)
    outbox.handle(row_id, first_lease)  # the slow first worker wakes up: nothing to do

    assert len(lark.calls(SEND, "POST")) == 1


def test_long_rate_limit_delays_send_one_notice_to_the_channels_chats(
    setup: tuple[LarkIntegration, Channel], owner: Persona, lark: LarkSandbox
) -> None:
    _, channel = setup
    first = factories.incident(owner.account, ch=channel)
    second = factories.incident(owner.account, ch=channel)
    for incident in (first, second):
        for row in rows(incident):
            row.created_at = utcnow() - timedelta(minutes=2)
    db.session.commit()
    lark.fail(SEND, code=99991400, times=2)

    outbox.run_once()
    notices = list(db.session.scalars(select(Delivery).where(Delivery.kind == "notice")))
    assert [(n.receive_id, n.status) for n in notices] == [(CHAT, DeliveryStatus.PENDING)]

    later(5)
    received = lark.messages_to(CHAT)
    assert len(received) == 3  # one notice, then the two incident cards
    assert [m.uuid.startswith("notice-") for m in received] == [True, False, False]
    assert received[0].title == outbox.notice_card("zh")["header"]["title"]["content"]


def test_the_worker_command_handles_due_rows(
    setup: tuple[LarkIntegration, Channel], owner: Persona, app: Flask, lark: LarkSandbox
) -> None:
    _, channel = setup
    factories.incident(owner.account, ch=channel)

    result = app.test_cli_runner().invoke(args=["lark", "worker", "--once"])

    assert result.exit_code == 0, result.output
    assert "handled 1 row(s)" in result.output
    assert len(lark.messages_to(CHAT)) == 1


def test_every_row_ends_delivered_failed_with_a_reason_or_pending_with_a_next_attempt(
    setup: tuple[LarkIntegration, Channel], owner: Persona, lark: LarkSandbox
) -> None:
    _, channel = setup
    bind_member = factories.persona("member", account=owner.account)
    lark.fail(SEND, status=500, times=1)
    factories.incident(owner.account, ch=channel, assignees=[owner.member, bind_member.member])
    outbox.run_once()

    for row in db.session.scalars(select(Delivery)):
        if row.status is DeliveryStatus.FAILED:
            assert row.reason
        elif row.status is DeliveryStatus.PENDING:
            assert row.next_attempt_at and row.last_error
        else:
            assert row.status is DeliveryStatus.DELIVERED
    assert db.session.scalar(select(Incident.id))
