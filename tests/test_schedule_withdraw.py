"""Withdrawing a cover request: the asker (or an admin) takes it back from the schedule page,
every copy of the card says so, and a later "I'll cover" on an old copy creates nothing."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import csrf_token, sign_in
from tests.factories import Persona
from tests.races import run_together
from tests.test_schedule_cover import NOW, Team, ask, deliver, make_team, the_card
from webapp.extensions import db
from webapp.models import CoverRequest, Delivery, DeliveryStatus, Schedule, ScheduleOverride
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox
from webapp.schedules import cover

WITHDRAWN_EN = "Han Meimei withdrew the request for cover Sat 09:00–21:00 (UTC+8)"


@pytest.fixture
def team(owner: Persona, lark: LarkSandbox, live_server: str) -> Team:
    return make_team(owner, lark, live_server)


def the_request() -> CoverRequest:
    return db.session.scalars(select(CoverRequest)).one()


def withdraw(client: FlaskClient, team: Team, request_id: int | None = None) -> Any:
    path = f"/schedules/{team.schedule.id}"
    request_id = request_id or the_request().id
    return client.post(
        f"{path}/cover/{request_id}/withdraw", data={"csrf_token": csrf_token(client, path)}
    )


def switch(client: FlaskClient, persona: Persona) -> None:
    client.post("/logout", data={"csrf_token": csrf_token(client, "/schedules")})
    sign_in(client, persona)


@pytest.mark.now(NOW)
def test_the_asker_withdraws_and_every_copy_of_the_card_says_so(
    client: FlaskClient, team: Team, lark: LarkSandbox
) -> None:
    ask(client, team)
    deliver()
    li_card = the_card(lark, seed.LI_LEI.open_id)
    wang_card = the_card(lark, seed.WANG_FANG.open_id)
    page = client.get(f"/schedules/{team.schedule.id}").get_data(as_text=True)
    assert ">Withdraw</button>" in page
    answer = withdraw(client, team)
    assert answer.status_code == 303
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "The request for cover was withdrawn; its Lark cards now say so." in page
    assert WITHDRAWN_EN in page and ">Withdraw</button>" not in page
    deliver()
    assert lark.message(li_card.message_id).title == WITHDRAWN_EN
    assert lark.message(li_card.message_id).buttons == ["Open the schedule"]
    assert (
        lark.message(wang_card.message_id).title
        == "Han Meimei 撤回了 周六 09:00–21:00 (UTC+8) 的顶班请求"
    )
    assert lark.message(wang_card.message_id).buttons == ["打开排班"]


@pytest.mark.now(NOW)
def test_a_press_on_a_copy_not_yet_redrawn_is_told_and_creates_nothing(
    client: FlaskClient, team: Team, lark: LarkSandbox
) -> None:
    ask(client, team)
    deliver()
    li_card = the_card(lark, seed.LI_LEI.open_id)
    assert withdraw(client, team).status_code == 303  # the redraw is still in the outbox
    pressed = lark.click(li_card.message_id, seed.LI_LEI.open_id, button="I'll cover")
    assert pressed.ok, pressed.error
    assert pressed.toast and pressed.toast["content"] == "Han Meimei 撤回了这个请求。"
    assert lark.message(li_card.message_id).title == WITHDRAWN_EN
    assert not cover.take(the_request().id, team.wang.member.id)  # nor does a take after it
    assert db.session.scalars(select(ScheduleOverride)).all() == []
    request = the_request()
    assert request.covered_by_id is None and request.withdrawn_at is not None


@pytest.mark.now(NOW)
def test_copies_not_sent_before_the_withdrawal_are_never_sent(
    client: FlaskClient, team: Team, lark: LarkSandbox
) -> None:
    ask(client, team)
    withdraw(client, team)
    deliver()
    assert lark.messages_to(seed.LI_LEI.open_id) == []
    assert lark.messages_to(seed.WANG_FANG.open_id) == []
    rows = db.session.scalars(select(Delivery).where(Delivery.kind == "cover_card")).all()
    assert {(r.status, r.reason) for r in rows} == {(DeliveryStatus.CANCELLED, "withdrawn")}


@pytest.mark.now(NOW)
def test_only_the_asker_or_an_admin_may_withdraw(
    client: FlaskClient, team: Team, outsider: Persona
) -> None:
    ask(client, team)
    request_id = the_request().id
    switch(client, team.li)  # a member who did not ask
    assert withdraw(client, team).status_code == 403
    path = f"/schedules/{team.schedule.id}/cover/{request_id}/withdraw"
    assert client.post(path).status_code == 400  # no CSRF token
    page = client.get(f"/schedules/{team.schedule.id}").get_data(as_text=True)
    assert ">Withdraw</button>" not in page
    switch(client, outsider)
    assert withdraw(client, team, request_id).status_code == 404
    assert the_request().withdrawn_at is None
    # Li Lei asks for a night of his own week; the owner, an admin, withdraws it.
    switch(client, team.li)
    own = f"/schedules/{team.schedule.id}"
    form = {"start": "2026-06-23T21:00", "end": "2026-06-24T09:00"}
    assert client.post(f"{own}/cover", data={**form, "csrf_token": csrf_token(client, own)})
    li_request = db.session.scalars(
        select(CoverRequest).where(CoverRequest.member_id == team.li.member.id)
    ).one()
    switch(client, team.han)
    assert withdraw(client, team, li_request.id).status_code == 303
    db.session.refresh(li_request)
    assert li_request.withdrawn_at is not None


@pytest.mark.now(NOW)
def test_a_request_of_another_schedule_is_not_found(client: FlaskClient, team: Team) -> None:
    ask(client, team)
    other = Schedule(account_id=team.han.account.id, name="Other")
    db.session.add(other)
    db.session.commit()
    path = f"/schedules/{other.id}"
    answer = client.post(
        f"{path}/cover/{the_request().id}/withdraw", data={"csrf_token": csrf_token(client, path)}
    )
    assert answer.status_code == 404
    assert the_request().withdrawn_at is None


@pytest.mark.now(NOW)
def test_a_taken_request_can_no_longer_be_withdrawn_and_a_withdrawn_one_can_be_asked_again(
    client: FlaskClient, team: Team
) -> None:
    ask(client, team)
    cover.take(the_request().id, team.li.member.id)
    answer = withdraw(client, team)
    assert answer.status_code == 409
    text = answer.get_data(as_text=True)
    assert "Li Lei already took this request, so it can no longer be withdrawn" in text
    db.session.query(ScheduleOverride).delete()
    db.session.query(CoverRequest).delete()
    db.session.commit()
    ask(client, team)
    assert withdraw(client, team).status_code == 303
    again = withdraw(client, team)
    assert again.status_code == 409
    assert "this request was already withdrawn" in again.get_data(as_text=True)
    assert ask(client, team)[0] == 303  # asking again for the same range is fine now
    assert len(db.session.scalars(select(CoverRequest)).all()) == 2


def race(app: Flask, request_id: int, taker_id: int) -> list[str]:
    """A press and a withdrawal of the same open request, at once."""

    def taking(ready: Any) -> str:
        asked = db.session.get(CoverRequest, request_id)  # reads it open ...
        assert asked is not None and asked.withdrawn_at is None
        ready()  # ... then both act at once
        return "took" if cover.take(request_id, taker_id) else "refused"

    def withdrawing(ready: Any) -> str:
        asked = db.session.get(CoverRequest, request_id)
        assert asked is not None
        ready()
        try:
            cover.withdraw(asked)
        except cover.ScheduleError:
            return "refused"
        return "withdrew"

    return run_together(app, [taking, withdrawing])


@pytest.mark.now(NOW)
def test_a_withdrawal_and_a_press_at_the_same_moment_end_in_exactly_one(
    app: Flask, client: FlaskClient, team: Team
) -> None:
    for _round in range(4):
        db.session.query(ScheduleOverride).delete()
        db.session.query(Delivery).delete()
        db.session.query(CoverRequest).delete()
        db.session.commit()
        ask(client, team)
        outcomes = race(app, the_request().id, team.li.member.id)
        assert sorted(outcomes) in (["refused", "took"], ["refused", "withdrew"]), outcomes
        db.session.expire_all()
        request = the_request()
        overrides = db.session.scalars(select(ScheduleOverride)).all()
        if "took" in outcomes:
            assert request.withdrawn_at is None and request.covered_by_id == team.li.member.id
            assert len(overrides) == 1
        else:
            assert request.withdrawn_at is not None and request.covered_by_id is None
            assert overrides == []
