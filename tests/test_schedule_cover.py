"""Cover requests: a member asks, the others get a Lark card, the first "I'll cover" wins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import factories
from tests.conftest import csrf_token, sign_in
from tests.factories import Persona
from tests.races import run_together
from tests.test_dispatch import bind
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.models import (
    CoverRequest,
    Delivery,
    LarkIntegration,
    Member,
    Platform,
    Schedule,
    ScheduleLayer,
    ScheduleOverride,
)
from webapp.oncall.schedule import on_call
from webapp.sandbox import card_rules, seed
from webapp.sandbox.handle import LarkSandbox
from webapp.schedules import cover

# Monday 15 June 2026, 10:00 Beijing: Han Meimei's week; she asks for Saturday's day shift.
NOW = "2026-06-15T02:00:00+00:00"
SATURDAY = {"start": "2026-06-20T09:00", "end": "2026-06-20T21:00"}


@dataclass
class Team:
    han: Persona
    li: Persona
    wang: Persona
    schedule: Schedule
    integration: LarkIntegration


def _person(kind: str, account: Any, name: str, locale: str) -> Persona:
    p = factories.persona(kind, account=account)
    p.member.name = name
    p.member.locale = locale
    db.session.commit()
    return p


@pytest.fixture
def team(owner: Persona, lark: LarkSandbox, live_server: str) -> Team:
    return make_team(owner, lark, live_server)


def make_team(owner: Persona, lark: LarkSandbox, live_server: str) -> Team:
    """Han Meimei (the owner), Li Lei and Wang Fang in a weekly rotation, all linked to Lark."""
    owner.member.name, owner.member.locale = "Han Meimei", "en"
    li = _person("member", owner.account, "Li Lei", "en")
    wang = _person("member", owner.account, "Wang Fang", "zh")
    integration = factories.lark_integration(owner.account)
    integration.platform = Platform.LARK
    lark.app().configure(card_request_url=f"{live_server}/lark/{integration.key}/card")
    for person, user in ((owner, seed.HAN_MEIMEI), (li, seed.LI_LEI), (wang, seed.WANG_FANG)):
        bind(integration, person.member, user.open_id)
    schedule = Schedule(account_id=owner.account.id, name="Core Platform primary")
    schedule.layers.append(
        ScheduleLayer(
            name="Weekly",
            member_ids=[owner.member.id, li.member.id, wang.member.id],
            shift_kind="weekly",
            handoff_weekday=0,
            handoff_minute=9 * 60,
            timezone="Asia/Shanghai",
            rotation_start=date(2026, 6, 15),
        )
    )
    db.session.add(schedule)
    db.session.commit()
    return Team(owner, li, wang, schedule, integration)


def ask(client: FlaskClient, team: Team, form: dict[str, str] = SATURDAY) -> tuple[int, str]:
    sign_in(client, team.han)
    path = f"/schedules/{team.schedule.id}"
    answer = client.post(f"{path}/cover", data={**form, "csrf_token": csrf_token(client, path)})
    return answer.status_code, answer.get_data(as_text=True)


def deliver() -> None:
    while outbox.run_once():
        pass


def the_card(lark: LarkSandbox, open_id: str) -> Any:
    (message,) = [m for m in lark.messages_to(open_id) if "cover" in m.title or "顶班" in m.title]
    return message


@pytest.mark.now(NOW)
def test_the_others_get_a_card_and_the_first_taker_gets_the_override(
    client: FlaskClient, team: Team, lark: LarkSandbox
) -> None:
    status, _ = ask(client, team)
    assert status == 303
    deliver()
    li_card = the_card(lark, seed.LI_LEI.open_id)
    wang_card = the_card(lark, seed.WANG_FANG.open_id)
    assert li_card.title == "Han Meimei needs cover Sat 09:00–21:00 (UTC+8)"
    assert li_card.buttons == ["I'll cover", "Open the schedule"]
    assert wang_card.title == "Han Meimei 需要顶班 周六 09:00–21:00 (UTC+8)"
    assert lark.messages_to(seed.HAN_MEIMEI.open_id) == []  # not asked to cover herself

    first = lark.click(li_card.message_id, seed.LI_LEI.open_id, button="I'll cover")
    assert first.ok, first.error
    # The toast speaks the Lark client's language (Li Lei's is Chinese), the card his own.
    assert (
        first.toast
        and first.toast["content"] == "你已顶替 Han Meimei 周六 09:00–21:00 (UTC+8)。谢谢！"
    )
    assert lark.message(li_card.message_id).title == (
        "Li Lei covers Han Meimei Sat 09:00–21:00 (UTC+8)"
    )
    assert lark.message(li_card.message_id).buttons == ["Open the schedule"]

    second = lark.click(wang_card.message_id, seed.WANG_FANG.open_id, button="我来顶班")
    assert second.toast and second.toast["content"] == "Already taken by Li Lei."
    deliver()  # the outbox redraws every other copy
    assert (
        lark.message(wang_card.message_id).title
        == "Li Lei 顶替 Han Meimei 周六 09:00–21:00 (UTC+8)"
    )

    (override,) = db.session.scalars(select(ScheduleOverride)).all()
    assert override.member_id == team.li.member.id
    saturday_noon = override.starts_at.replace(hour=4)  # 12:00 Beijing
    shift = on_call(team.schedule, saturday_noon)
    assert shift is not None and shift.member_id == team.li.member.id


@pytest.mark.now(NOW)
def test_the_cards_pass_the_sandbox_card_rules_open_taken_and_withdrawn(
    client: FlaskClient, team: Team
) -> None:
    from webapp.schedules import cards

    ask(client, team)
    taken = db.session.scalars(select(CoverRequest)).one()
    ask(client, team, {"start": "2026-06-21T09:00", "end": "2026-06-21T21:00"})
    withdrawn = db.session.scalars(select(CoverRequest).where(CoverRequest.id != taken.id)).one()
    states: dict[str, list[str]] = {}

    def check_both(state: str, request: CoverRequest) -> None:
        for locale in ("en", "zh"):
            card = cards.cover_card(request, locale=locale, page_url="https://x/")
            card_rules.check(card)
            states.setdefault(state, []).append(card["header"]["title"]["content"])

    check_both("open", taken)
    cover.take(taken.id, team.li.member.id)
    cover.withdraw(withdrawn)
    db.session.refresh(taken)
    db.session.refresh(withdrawn)
    check_both("taken", taken)
    check_both("withdrawn", withdrawn)
    assert states == {
        "open": [
            "Han Meimei needs cover Sat 09:00–21:00 (UTC+8)",
            "Han Meimei 需要顶班 周六 09:00–21:00 (UTC+8)",
        ],
        "taken": [
            "Li Lei covers Han Meimei Sat 09:00–21:00 (UTC+8)",
            "Li Lei 顶替 Han Meimei 周六 09:00–21:00 (UTC+8)",
        ],
        "withdrawn": [
            "Han Meimei withdrew the request for cover Sun 09:00–21:00 (UTC+8)",
            "Han Meimei 撤回了 周日 09:00–21:00 (UTC+8) 的顶班请求",
        ],
    }


@pytest.mark.now(NOW)
def test_pressing_twice_on_the_same_card_keeps_one_override_and_says_so(
    client: FlaskClient, team: Team, lark: LarkSandbox
) -> None:
    ask(client, team)
    deliver()
    card = the_card(lark, seed.LI_LEI.open_id)
    value = {"a": "cover", "r": db.session.scalars(select(CoverRequest)).one().id}
    assert lark.click(card.message_id, seed.LI_LEI.open_id, button="I'll cover").ok
    again = cover.press(team.integration, seed.LI_LEI.open_id, card.message_id, value)
    assert again.toast["content"] == "You are covering this."
    assert db.session.scalars(select(ScheduleOverride)).all().__len__() == 1


@pytest.mark.now(NOW)
def test_asking_for_a_range_you_are_not_on_call_in_is_refused_and_keeps_the_form(
    client: FlaskClient, team: Team
) -> None:
    # 22-28 June is Li Lei's week.
    status, page = ask(client, team, {"start": "2026-06-23T09:00", "end": "2026-06-23T21:00"})
    assert status == 422
    assert "you are not on call in that range" in page
    assert 'value="2026-06-23T09:00"' in page
    status, page = ask(client, team, {"start": "2026-06-20T21:00", "end": "2026-06-20T09:00"})
    assert status == 422 and "the end must come after the start" in page
    assert db.session.scalars(select(CoverRequest)).all() == []
    assert db.session.scalars(select(Delivery)).all() == []


@pytest.mark.now(NOW)
def test_the_page_lists_the_request_and_who_took_it(client: FlaskClient, team: Team) -> None:
    ask(client, team)
    page = client.get(f"/schedules/{team.schedule.id}").get_data(as_text=True)
    assert "Han Meimei needs cover Sat 09:00–21:00 (UTC+8)" in page
    request = db.session.scalars(select(CoverRequest)).one()
    cover.take(request.id, team.wang.member.id)
    page = client.get(f"/schedules/{team.schedule.id}").get_data(as_text=True)
    assert "Wang Fang covers Han Meimei Sat 09:00–21:00 (UTC+8)" in page


def test_asking_needs_a_signed_in_member_of_the_account(
    client: FlaskClient, owner: Persona, outsider: Persona
) -> None:
    schedule = Schedule(account_id=owner.account.id, name="Theirs")
    db.session.add(schedule)
    db.session.commit()
    sign_in(client, outsider)
    token = csrf_token(client, "/schedules")
    answer = client.post(f"/schedules/{schedule.id}/cover", data={**SATURDAY, "csrf_token": token})
    assert answer.status_code == 404
    assert client.post(f"/schedules/{schedule.id}/cover", data=SATURDAY).status_code == 400


@pytest.mark.now(NOW)
def test_two_presses_at_the_same_moment_create_one_override(
    app: Flask, client: FlaskClient, team: Team
) -> None:
    ask(client, team)
    request_id = db.session.scalars(select(CoverRequest)).one().id
    takers = [team.li.member.id, team.wang.member.id]

    def taking(member_id: int) -> Any:
        def call(ready: Any) -> str:
            db.session.get(CoverRequest, request_id)  # both read it open ...
            ready()  # ... then both take it at once
            return "took" if cover.take(request_id, member_id) else "taken"

        return call

    outcomes = run_together(app, [taking(m) for m in takers])
    assert sorted(outcomes) == ["taken", "took"]
    db.session.expire_all()
    (override,) = db.session.scalars(select(ScheduleOverride)).all()
    request = db.session.get(CoverRequest, request_id)
    assert request is not None and request.covered_by_id == override.member_id
    assert db.session.get(Member, override.member_id) is not None
    assert takers[outcomes.index("took")] == override.member_id


@pytest.mark.now(NOW)
def test_cover_cards_wait_for_the_reset_when_the_monthly_quota_is_used_up(
    client: FlaskClient, team: Team, lark: LarkSandbox
) -> None:
    from webapp.models import DeliveryStatus, LarkApiEvent

    db.session.add(
        LarkApiEvent(
            integration_id=team.integration.id, path="/im/v1/messages", code=99991403, kind="quota"
        )
    )
    db.session.commit()
    ask(client, team)
    deliver()
    cards = db.session.scalars(select(Delivery).where(Delivery.kind == "cover_card")).all()
    assert len(cards) == 2
    assert {(c.status, c.reason) for c in cards} == {(DeliveryStatus.PENDING, "quota")}
    assert lark.messages_to(seed.LI_LEI.open_id) == []


@pytest.mark.now(NOW)
def test_a_copy_drawn_before_the_press_and_sent_after_it_is_redrawn(
    client: FlaskClient, team: Team, lark: LarkSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from webapp.delivery import schedule_kinds
    from webapp.schedules import cards

    ask(client, team)
    request = db.session.scalars(select(CoverRequest)).one()
    drawn_open = cards.cover_card(request, locale="en", page_url="https://x/")
    cover.take(request.id, team.wang.member.id)  # taken while the first copy is on its way
    real, calls = schedule_kinds._cover, []

    def drawn_before_the_press(row: Delivery, integration: LarkIntegration) -> Any:
        calls.append(row.id)
        return drawn_open if len(calls) == 1 else real(row, integration)

    monkeypatch.setattr(schedule_kinds, "_cover", drawn_before_the_press)
    deliver()
    (copy,) = lark.messages_to(seed.LI_LEI.open_id)
    assert copy.title == "Wang Fang covers Han Meimei Sat 09:00–21:00 (UTC+8)"
    assert "I'll cover" not in copy.buttons


@pytest.mark.now(NOW)
def test_asking_twice_for_the_same_range_is_refused_while_nobody_took_it(
    client: FlaskClient, team: Team
) -> None:
    assert ask(client, team)[0] == 303
    status, page = ask(client, team, {"start": "2026-06-20T12:00", "end": "2026-06-20T15:00"})
    assert status == 422
    assert "you already asked for cover in that range" in page
    assert len(db.session.scalars(select(CoverRequest)).all()) == 1
