"""Bindings: one live Lark user per member and per Lark user, switch account keeps history."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.factories import Persona
from webapp.extensions import db
from webapp.identity import bindings
from webapp.lark.oauth import LarkUser
from webapp.models import LarkBinding, LarkIntegration
from webapp.sandbox import seed


def lark_user(person: seed.SeedUser, name: str | None = None) -> LarkUser:
    return LarkUser(
        open_id=person.open_id,
        union_id=person.union_id,
        user_id=person.user_id,
        tenant_key=person.tenant_key,
        name=name or person.name,
        avatar_url="https://example.com/a.png",
        email=person.email,
        mobile=person.mobile,
    )


def binding_count() -> int:
    return db.session.execute(select(func.count()).select_from(LarkBinding)).scalar_one()


@pytest.fixture
def integration(owner: Persona) -> LarkIntegration:
    return factories.lark_integration(owner.account, tenant_key=seed.TENANT_KEY)


def test_binding_links_the_lark_user_to_the_member(
    integration: LarkIntegration, member: Persona
) -> None:
    binding = bindings.bind(integration, lark_user(seed.HAN_MEIMEI), member.member)
    assert bindings.live_binding(integration, seed.HAN_MEIMEI.open_id) == binding
    assert bindings.binding_of(integration, member.member) == binding
    assert (binding.lark_name, binding.union_id, binding.method) == (
        "韩梅梅",
        seed.HAN_MEIMEI.union_id,
        "oauth",
    )


def test_binding_the_same_pair_again_only_refreshes_the_lark_profile(
    integration: LarkIntegration, member: Persona
) -> None:
    first = bindings.bind(integration, lark_user(seed.HAN_MEIMEI), member.member)
    again = bindings.bind(integration, lark_user(seed.HAN_MEIMEI, "Meimei"), member.member)
    assert again.id == first.id
    assert again.lark_name == "Meimei"
    assert binding_count() == 1


def test_a_member_of_another_account_is_refused(
    integration: LarkIntegration, outsider: Persona
) -> None:
    with pytest.raises(bindings.WrongAccount, match="is not a member of"):
        bindings.bind(integration, lark_user(seed.HAN_MEIMEI), outsider.member)
    assert binding_count() == 0


def test_a_member_already_linked_to_another_lark_user_is_told_what_to_do(
    integration: LarkIntegration, member: Persona
) -> None:
    bindings.bind(integration, lark_user(seed.HAN_MEIMEI), member.member)
    with pytest.raises(bindings.AlreadyBound, match="already linked to another Lark user"):
        bindings.bind(integration, lark_user(seed.WANG_FANG), member.member)
    assert binding_count() == 1


def test_a_linked_lark_user_cannot_be_linked_to_a_second_member(
    integration: LarkIntegration, owner: Persona, member: Persona
) -> None:
    bindings.bind(integration, lark_user(seed.HAN_MEIMEI), member.member)
    with pytest.raises(bindings.AlreadyBound, match="Switch account"):
        bindings.bind(integration, lark_user(seed.HAN_MEIMEI), owner.member)
    assert bindings.binding_of(integration, owner.member) is None


def test_switching_account_ends_the_binding_and_keeps_it_as_history(
    integration: LarkIntegration, owner: Persona, member: Persona
) -> None:
    first = bindings.bind(integration, lark_user(seed.HAN_MEIMEI), member.member)
    bindings.switch_account(first)
    assert bindings.live_binding(integration, seed.HAN_MEIMEI.open_id) is None
    assert (first.ended_reason, first.ended_at is not None) == ("switch_account", True)
    second = bindings.bind(integration, lark_user(seed.HAN_MEIMEI), owner.member)
    assert bindings.live_binding(integration, seed.HAN_MEIMEI.open_id) == second
    assert bindings.history(integration, member.member) == [first]
    assert binding_count() == 2


def test_the_same_lark_user_may_be_linked_in_two_integrations(
    integration: LarkIntegration, owner: Persona, member: Persona
) -> None:
    other = factories.lark_integration(owner.account, key="second", app_id="cli_second")
    bindings.bind(integration, lark_user(seed.HAN_MEIMEI), member.member)
    bindings.bind(other, lark_user(seed.HAN_MEIMEI), owner.member)
    assert bindings.live_binding(other, seed.HAN_MEIMEI.open_id).member == owner.member  # type: ignore[union-attr]
    assert bindings.live_binding(integration, seed.HAN_MEIMEI.open_id).member == member.member  # type: ignore[union-attr]
