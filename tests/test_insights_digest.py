"""The weekly digest card: what a channel's group chat receives on Monday at 09:00 Beijing time.

The week of tests/insights_support.py, every incident moved into the "Payments" channel:
Monday 06-08 to Sunday 06-14 holds four incidents (06-10 cpu high, escalated; 06-12 disk
full, acknowledged by the API after 15 min; 06-13 cpu high, resolved by its alert after
20 min, a Saturday; 06-14 03:00 disk full, acknowledged after 10 min and resolved after 30 min,
a Sunday night). The week before holds one (acknowledged after 20 min, resolved after 2 h).
"""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import urlencode

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from tests import factories, insights_support
from tests.test_diagnostics import ONCALL, PAYMENTS, rule
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.insights import digest
from webapp.models import (
    ApiUsage,
    Delivery,
    DeliveryStatus,
    Edition,
    Incident,
    LarkIntegration,
    Platform,
    utcnow,
)
from webapp.sandbox import card_rules
from webapp.sandbox.handle import LarkSandbox

pytestmark = pytest.mark.now(insights_support.NOW)

MONDAY_0900 = "2026-06-15T09:00:00+08:00"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def week_in_a_chat(
    clock: time_machine.Traveller,
    owner: factories.Persona,
    member: factories.Persona,
    platform: Platform = Platform.LARK,
) -> tuple[LarkIntegration, insights_support.Week]:
    week = insights_support.build(clock, owner, member)
    db.session.execute(db.update(Incident).values(channel_id=week.channel.id))
    integration = factories.lark_integration(owner.account)
    integration.platform = platform
    db.session.commit()
    rule(week.channel, integration, [{"assignees": True, "chat_ids": [ONCALL]}])
    return integration, week


def card_text(card: dict) -> str:
    """Every string a reader sees on the card, in order."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key in ("content",):
                if isinstance(node.get(key), str):
                    found.append(node[key])
            for value in node.values():
                if isinstance(value, (dict, list)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return "\n".join(found)


def digests_in(lark: LarkSandbox, chat: str) -> list[dict]:
    return [m.card for m in lark.messages_to(chat) if "digest" in m.uuid]


def test_on_monday_the_channels_chat_gets_last_weeks_figures_and_a_link(
    app: Flask,
    clock: time_machine.Traveller,
    owner: factories.Persona,
    member: factories.Persona,
    lark: LarkSandbox,
) -> None:
    _integration, week = week_in_a_chat(clock, owner, member)
    clock.move_to(at(MONDAY_0900))
    assert digest.enqueue_due() == 1
    outbox.run_once()

    [card] = digests_in(lark, ONCALL)
    card_rules.check(card)  # Lark's card JSON 2.0 rules, stricter than Lark
    text = card_text(card)
    assert "Weekly on-call digest: Payments" in text
    assert "2026-06-08 to 2026-06-14, Beijing time" in text
    assert "**Incidents:** 4 (the week before: 1)" in text
    assert "**Median time to acknowledge:** 10 min (the week before: 20 min)" in text
    assert "**Median time to resolve:** 20 min (the week before: 2 h 0 min)" in text
    assert "**Out-of-hours pages:** 2" in text
    assert "**Reached a second layer:** 1" in text
    assert (
        "cpu high: 2 incidents, 50% auto-resolved\ndisk full: 2 incidents, 0% auto-resolved" in text
    )
    [button] = [e for e in card["body"]["elements"] if e["tag"] == "button"]
    link = button["behaviors"][0]["default_url"]
    # Through the web app's entry, signed in with Lark (an AppLink on a real tenant).
    insights = f"/admin/insights/?days=7&channel={week.channel.id}"
    assert link == (
        f"{app.config['PUBLIC_BASE_URL']}/lark/{_integration.key}/go?{urlencode({'to': insights})}"
    )
    assert lark.messages_to(PAYMENTS) == []  # a chat no rule of the channel names


def test_the_digest_is_sent_once_a_week_however_often_it_is_asked_for(
    clock: time_machine.Traveller,
    owner: factories.Persona,
    member: factories.Persona,
    lark: LarkSandbox,
) -> None:
    week_in_a_chat(clock, owner, member)
    clock.move_to(at("2026-06-15T08:59:00+08:00"))
    assert digest.enqueue_due() == 0  # Monday, not yet nine
    for when in (MONDAY_0900, "2026-06-15T09:05:00+08:00", "2026-06-15T23:00:00+08:00"):
        clock.move_to(at(when))
        digest.enqueue_due()
        outbox.run_once()
    clock.move_to(at("2026-06-16T09:00:00+08:00"))  # a day late is too late: next week
    assert digest.enqueue_due() == 0
    assert len(digests_in(lark, ONCALL)) == 1
    clock.move_to(at("2026-06-22T09:00:00+08:00"))
    assert digest.enqueue_due() == 1
    outbox.run_once()
    cards = digests_in(lark, ONCALL)
    assert len(cards) == 2
    assert "2026-06-15 to 2026-06-21" in card_text(cards[1])
    assert "**Incidents:** 1 (the week before: 4)" in card_text(cards[1])


def test_a_worker_started_late_on_monday_still_sends_it_through_its_periodic_job(
    app: Flask,
    clock: time_machine.Traveller,
    owner: factories.Persona,
    member: factories.Persona,
    lark: LarkSandbox,
) -> None:
    week_in_a_chat(clock, owner, member)
    clock.move_to(at("2026-06-15T17:30:00+08:00"))
    outbox.run_periodic(utcnow())
    outbox.run_periodic(utcnow())
    outbox.run_once()
    assert len(digests_in(lark, ONCALL)) == 1


def test_on_feishu_the_digest_is_in_chinese(
    clock: time_machine.Traveller,
    owner: factories.Persona,
    member: factories.Persona,
    lark: LarkSandbox,
) -> None:
    week_in_a_chat(clock, owner, member, Platform.FEISHU)
    clock.move_to(at(MONDAY_0900))
    digest.enqueue_due()
    outbox.run_once()
    [card] = digests_in(lark, ONCALL)
    card_rules.check(card)
    text = card_text(card)
    assert "每周值班周报：Payments" in text
    assert "**故障数：** 4（前一周：1）" in text
    assert "**认领用时中位数：** 10 分钟（前一周：20 分钟）" in text
    assert "打开洞察" in text
    assert "Incidents" not in text


def test_with_the_free_quota_used_up_the_digest_waits_for_next_month(
    app: Flask,
    clock: time_machine.Traveller,
    owner: factories.Persona,
    member: factories.Persona,
    lark: LarkSandbox,
) -> None:
    integration, _week = week_in_a_chat(clock, owner, member)
    integration.edition = Edition.FREE
    quota = int(app.config["LARK_FREE_MONTHLY_QUOTA"])
    db.session.add(ApiUsage(integration_id=integration.id, month="2026-06", calls=quota))
    db.session.commit()
    clock.move_to(at(MONDAY_0900))
    digest.enqueue_due()
    outbox.run_once()
    assert digests_in(lark, ONCALL) == []
    row = db.session.scalars(select(Delivery).where(Delivery.kind == "digest")).one()
    assert row.status is DeliveryStatus.PENDING
    assert row.reason == "quota"
    assert row.next_attempt_at == at("2026-07-01T00:00:00+08:00")


def test_no_chat_no_digest_and_a_disabled_integration_sends_none(
    clock: time_machine.Traveller,
    owner: factories.Persona,
    member: factories.Persona,
    lark: LarkSandbox,
) -> None:
    week = insights_support.build(clock, owner, member)
    integration = factories.lark_integration(owner.account)
    rule(week.channel, integration, [{"assignees": True, "chat_ids": []}])
    clock.move_to(at(MONDAY_0900))
    assert digest.enqueue_due() == 0
    other = factories.lark_integration(owner.account, key="off", enabled=False)
    rule(week.channel, other, [{"chat_ids": [ONCALL]}])
    assert digest.enqueue_due() == 0
    assert json.dumps(digests_in(lark, ONCALL)) == "[]"
