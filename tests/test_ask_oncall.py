"""`@bot oncall` / `@bot 值班` in a Lark group: the bot answers in the chat, through the
outbox, with who is on call now for the chat's channels and until when."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests import factories
from tests.factories import Persona
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.models import Channel, Delivery, DispatchRule, LarkIntegration, Platform, utcnow
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox, ReceivedMessage
from webapp.schedules import service as schedules

LI = seed.LI_LEI.open_id
CHAT = seed.ONCALL_CHAT.chat_id


def _setup(
    owner: Persona, member: Persona, lark: LarkSandbox, live_server: str
) -> tuple[LarkIntegration, Channel]:
    integration = factories.lark_integration(owner.account)
    integration.platform = Platform.LARK  # answers in English unless asked in Chinese
    db.session.commit()
    lark.app().configure(event_request_url=f"{live_server}/lark/{integration.key}/events")
    channel = factories.channel(owner.account, [owner.member], name="Core Platform")
    schedule = schedules.create_schedule(owner.account.id, "Core primary", "Asia/Shanghai")
    schedules.add_layer(
        schedule,
        schedules.LayerInput(
            name="Weekly",
            member_ids=[owner.member.id, member.member.id],
            kind="weekly",
            hours=24,
            weekday=0,
            handoff="09:00",
            timezone="Asia/Shanghai",
            start="2026-06-01",
            restrict_weekdays=[],
            restrict_from="",
            restrict_to="",
        ),
    )
    db.session.add(
        DispatchRule(
            channel_id=channel.id,
            integration_id=integration.id,
            name="Everything",
            position=1,
            severities=[],
            label_match={},
            enabled=True,
            layers=[
                {
                    "delay_minutes": 0,
                    "assignees": False,
                    "team_ids": [],
                    "member_ids": [],
                    "chat_ids": [CHAT],
                    "chat_names": {CHAT: seed.ONCALL_CHAT.name},
                    "schedule_ids": [schedule.id],
                }
            ],
        )
    )
    db.session.commit()
    return integration, channel


def _on_call_now(owner: Persona, member: Persona) -> Persona:
    """Whose week it is at the test's moment: the weekly rotation above hands over every
    Monday at 09:00 Beijing since 2026-06-01, the owner first."""
    first = datetime(2026, 6, 1, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
    weeks = (utcnow() - first) // timedelta(weeks=1)
    return (owner, member)[weeks % 2]


def _bot_answers(lark: LarkSandbox) -> list[ReceivedMessage]:
    return [m for m in lark.messages_to(CHAT) if m.app_id == seed.DEMO_APP_ID]


@pytest.mark.now("2026-06-15T02:00:00Z")  # Monday 10:00 in Shanghai, week 3 of the rotation
def test_at_bot_oncall_answers_who_is_on_call_for_the_chats_channels_and_until_when(
    owner: Persona, member: Persona, lark: LarkSandbox, live_server: str
) -> None:
    _setup(owner, member, lark, live_server)

    _, [sent] = lark.say(CHAT, LI, "oncall")
    assert sent.status == 200, sent
    assert _bot_answers(lark) == []  # the answer leaves through the outbox
    outbox.run_once()

    [answer] = _bot_answers(lark)
    assert answer.title == "Who is on call now"
    text = answer.content
    assert "Core Platform" in text and "Core primary" in text
    assert f"{owner.member.name}, until 06-22 09:00 (UTC+8)" in text


@pytest.mark.now("2026-06-10T02:00:00Z")  # week 2: the second person
def test_at_bot_zhiban_answers_in_chinese(
    owner: Persona, member: Persona, lark: LarkSandbox, live_server: str
) -> None:
    _setup(owner, member, lark, live_server)

    lark.say(CHAT, LI, "值班")
    outbox.run_once()

    [answer] = _bot_answers(lark)
    assert answer.title == "当前值班"
    assert member.member.name in answer.content and "06-15 09:00" in answer.content


def test_anything_else_is_answered_with_the_commands_the_bot_knows(
    owner: Persona, member: Persona, lark: LarkSandbox, live_server: str
) -> None:
    _setup(owner, member, lark, live_server)

    lark.say(CHAT, LI, "what's up?")
    outbox.run_once()

    [answer] = _bot_answers(lark)
    assert answer.title == "What I can answer"
    assert "@bot oncall" in answer.content and "@bot 值班" in answer.content


def test_a_message_not_for_the_bot_gets_no_answer_and_a_redelivery_one_answer(
    owner: Persona, member: Persona, lark: LarkSandbox, live_server: str
) -> None:
    _setup(owner, member, lark, live_server)

    _, unheard = lark.say(CHAT, LI, "oncall", at=())  # no @bot: Lark does not send it
    _, [sent] = lark.say(CHAT, LI, "oncall")
    again = lark.redeliver(sent)
    outbox.run_once()

    assert unheard == [] and again.status == 200
    assert len(_bot_answers(lark)) == 1
    assert db.session.query(Delivery).filter(Delivery.kind == "reply").count() == 1


def test_a_chat_no_policy_sends_to_is_told_so(
    owner: Persona, member: Persona, lark: LarkSandbox, live_server: str
) -> None:
    _setup(owner, member, lark, live_server)
    lark.set_bot_in_chat(seed.PAYMENTS_CHAT.chat_id, present=True)

    lark.say(seed.PAYMENTS_CHAT.chat_id, LI, "oncall")
    outbox.run_once()

    [answer] = [
        m for m in lark.messages_to(seed.PAYMENTS_CHAT.chat_id) if m.app_id == seed.DEMO_APP_ID
    ]
    assert "No channel's dispatch policy sends to this chat" in answer.content


def test_a_person_asks_from_the_sandbox_client_and_reads_the_answer_there(
    owner: Persona, member: Persona, lark: LarkSandbox, live_server: str
) -> None:
    _setup(owner, member, lark, live_server)
    session = lark.client_session(LI)

    sent = session.post(
        f"{lark.base_url}/chats/{CHAT}/messages",
        data={"text": "oncall", "at": seed.DEMO_APP_ID},
        timeout=10,
    )
    outbox.run_once()
    page = session.get(f"{lark.base_url}/messenger/{CHAT}", timeout=10).text

    assert sent.status_code == 200  # the chat again, after the redirect
    assert f"@{seed.DEMO_APP_NAME} oncall" in page  # the question, as the chat shows it
    assert "Who is on call now" in page and _on_call_now(owner, member).member.name in page
