"""Two binds at the same moment: the unique indexes let one win and the other is explained."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests import factories
from tests.factories import Persona
from tests.races import run_together
from webapp.extensions import db
from webapp.identity import bindings
from webapp.lark.oauth import LarkUser
from webapp.models import LarkBinding, LarkIntegration, Member
from webapp.sandbox import seed

pytestmark = pytest.mark.postgres_only


def as_lark_user(person: seed.SeedUser) -> LarkUser:
    return LarkUser(
        person.open_id, person.union_id, person.user_id, person.tenant_key, person.name,
        None, None, None,
    )  # fmt: skip


def race(app: Flask, integration_id: int, attempts: list[tuple[seed.SeedUser, int]]) -> list[str]:
    def attempt(person: seed.SeedUser, member_id: int) -> Callable[[Callable[[], None]], str]:
        def call(ready: Callable[[], None]) -> str:
            integration = db.session.get(LarkIntegration, integration_id)
            member = db.session.get(Member, member_id)
            assert integration is not None and member is not None
            ready()
            try:
                bindings.bind(integration, as_lark_user(person), member)
            except bindings.AlreadyBound as exc:
                return str(exc)
            return "ok"

        return call

    return run_together(app, [attempt(person, member_id) for person, member_id in attempts])


def live_count() -> int:
    return db.session.execute(
        select(func.count()).select_from(LarkBinding).where(LarkBinding.ended_at.is_(None))
    ).scalar_one()


def test_one_lark_user_bound_to_two_members_at_once_binds_one(
    app: Flask, owner: Persona, member: Persona
) -> None:
    integration = factories.lark_integration(owner.account)
    outcomes = race(
        app,
        integration.id,
        [(seed.HAN_MEIMEI, owner.member.id), (seed.HAN_MEIMEI, member.member.id)],
    )
    assert sorted(o == "ok" for o in outcomes) == [False, True]
    assert "Switch account" in next(o for o in outcomes if o != "ok")
    assert live_count() == 1


def test_two_lark_users_bound_to_one_member_at_once_binds_one(
    app: Flask, owner: Persona, member: Persona
) -> None:
    integration = factories.lark_integration(owner.account)
    outcomes = race(
        app,
        integration.id,
        [(seed.HAN_MEIMEI, member.member.id), (seed.WANG_FANG, member.member.id)],
    )
    assert sorted(o == "ok" for o in outcomes) == [False, True]
    assert "already linked to another Lark user" in next(o for o in outcomes if o != "ok")
    assert live_count() == 1
