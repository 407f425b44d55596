"""The diagnostics page: each FAQ case of the seed guide is made to happen in the sandbox,
and the page must say so with the right status and the fix in words."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import refresh

from tests import factories
from tests.conftest import sign_in
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.lark.client import LarkClient
from webapp.lark.errors import LarkError
from webapp.models import (
    Channel,
    DispatchRule,
    Edition,
    LarkBinding,
    LarkIntegration,
    Member,
)
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox

ONCALL = seed.ONCALL_CHAT.chat_id
PAYMENTS = seed.PAYMENTS_CHAT.chat_id


def bind(integration: LarkIntegration, member: Member, open_id: str) -> None:
    db.session.add(LarkBinding(integration_id=integration.id, member_id=member.id, open_id=open_id))
    db.session.commit()


def rule(channel: Channel, integration: LarkIntegration, layers: list[dict[str, Any]]) -> None:
    db.session.add(
        DispatchRule(
            channel_id=channel.id, integration_id=integration.id, name="Core on-call", layers=layers
        )
    )
    db.session.commit()


def check(client: FlaskClient, key: str) -> tuple[str, str]:
    """(status, text) of one check on the diagnostics page, as the admin reads it."""
    db.session.expire_all()  # the live server wrote evidence through its own session
    refresh()  # the test's app context outlives each request: forget the last one's locale
    page = client.get("/admin/diagnostics").get_data(as_text=True)
    start = page.find(f'id="check-{key}"')
    assert start >= 0, f"no check {key!r} on the page"
    head = page.rfind('<li class="check check-', 0, start)
    status = page[head:start].split("check-")[-1].split('"')[0]
    ends = [
        i
        for i in (page.find('<li class="check check-', start), page.find("</section>", start))
        if i > 0
    ]
    text = html.unescape(re.sub(r"<[^>]+>", " ", page[start : min(ends)]))
    return status, " ".join(text.split())


def check_in_chinese(client: FlaskClient, admin: factories.Persona, key: str) -> tuple[str, str]:
    """The same check, read by an admin who chose Chinese."""
    admin.member.locale = "zh"
    db.session.commit()
    try:
        return check(client, key)
    finally:
        admin.member.locale = None
        db.session.commit()


def send_cards(integration: LarkIntegration, count: int) -> None:
    """Cards sent through the product's Lark client, which counts them (ApiUsage)."""
    client = LarkClient.for_integration(integration)
    card = {"schema": "2.0", "config": {"update_multi": True}, "body": {"elements": []}}
    for n in range(count):
        client.send_card("chat_id", ONCALL, card, uuid=f"diag-{n}")


@pytest.fixture
def admin(client: FlaskClient, owner: factories.Persona) -> factories.Persona:
    sign_in(client, owner)
    return owner


@pytest.fixture
def integration(owner: factories.Persona, lark: LarkSandbox) -> LarkIntegration:
    return factories.lark_integration(owner.account)


# -- credentials and the card URL ------------------------------------------------------


def test_working_credentials_and_a_verified_card_url_are_ok(
    client: FlaskClient, admin: factories.Persona, integration: LarkIntegration, lark: LarkSandbox
) -> None:
    assert check(client, "credentials")[0] == "ok"
    status, text = check(client, "card_url")
    assert status == "failing" and "Callback configuration" in text
    ok, words = lark.app().verify_url(f"{lark.base_url[: -len('/_lark')]}/lark/demo/card")
    assert ok, words
    status, text = check(client, "card_url")
    assert status == "warning" and "No button click has reached us yet." in text


def test_a_wrong_app_secret_fails_the_credentials_check_with_lark_s_words(
    client: FlaskClient, admin: factories.Persona, owner: factories.Persona, lark: LarkSandbox
) -> None:
    factories.lark_integration(owner.account, app_secret="WrongSecretWrongSecret00")
    status, text = check(client, "credentials")
    assert status == "failing"
    assert "Lark answered" in text and "Lark refused the App ID or App Secret." in text
    assert "Credentials & Basic Info" in text


# -- 未关联应用 --------------------------------------------------------------------------


def test_a_person_outside_the_visibility_range_fails_with_publish_to_all_staff(
    client: FlaskClient,
    admin: factories.Persona,
    member: factories.Persona,
    integration: LarkIntegration,
) -> None:
    bind(integration, member.member, seed.ZHAO_LEI.open_id)  # outside the app's range
    factories.incident(admin.account, assignees=[member.member])
    outbox.run_once()  # Lark answers 230013
    status, text = check(client, "not_linked_deliveries")
    assert status == "failing"
    assert "230013" in text and member.member.name in text
    assert "Publish the app to all staff" in text and "可用范围" in text
    page = client.get("/admin/diagnostics").get_data(as_text=True)
    # The failure log shows Lark's code and the fix for it.
    assert "<code>230013</code>" in page
    assert "availability range" in page


def test_a_member_who_never_opened_the_app_is_told_to_sign_in_from_the_workbench(
    client: FlaskClient,
    admin: factories.Persona,
    member: factories.Persona,
    integration: LarkIntegration,
) -> None:
    bind(integration, admin.member, seed.LI_LEI.open_id)
    status, text = check(client, "members_linked")
    assert status == "warning" and member.member.name in text and admin.member.name not in text
    assert "Workbench" in text and "sign in" in text
    factories.incident(admin.account, assignees=[member.member])  # no binding: cannot be sent
    status, text = check(client, "not_linked_deliveries")
    assert status == "failing"
    assert "never opened the app" in text
    assert "open the web app from the workbench" in text


def test_a_click_from_an_unlinked_lark_user_fails_the_card_buttons_check(
    client: FlaskClient, admin: factories.Persona, integration: LarkIntegration, lark: LarkSandbox
) -> None:
    channel = factories.channel(admin.account, [admin.member])
    rule(channel, integration, [{"assignees": False, "chat_ids": [ONCALL]}])
    factories.incident(admin.account, ch=channel)
    outbox.run_once()
    [card] = lark.messages_to(ONCALL)
    # Wang Fang is in the group but has never linked her Lark user to a member.
    lark.click(card.message_id, seed.WANG_FANG.open_id, button=card.buttons[0])
    status, text = check(client, "card_operators")
    assert status == "failing"
    assert seed.WANG_FANG.name in text  # her Lark name, asked of Lark's contacts
    assert seed.WANG_FANG.open_id not in text
    assert "Switch account" in text


# -- license ---------------------------------------------------------------------------


def test_a_full_license_warns_and_a_refused_click_fails(
    client: FlaskClient, admin: factories.Persona, integration: LarkIntegration, lark: LarkSandbox
) -> None:
    seatless = factories.persona("member", account=admin.account, seat=False)
    admin.account.seats_allowed = 1
    db.session.commit()
    status, text = check(client, "license")
    assert status == "warning" and "1 of 1 seats in use." in text
    assert "All seats are taken" in text and "License page" in text

    bind(integration, seatless.member, seed.HAN_MEIMEI.open_id)
    factories.incident(admin.account, assignees=[seatless.member])
    outbox.run_once()
    [card] = lark.messages_to(seed.HAN_MEIMEI.open_id)
    lark.click(card.message_id, seed.HAN_MEIMEI.open_id, button=card.buttons[0])
    status, text = check(client, "license")
    assert status == "failing" and "refused for lack of a seat" in text


# -- chats -----------------------------------------------------------------------------


def test_a_dispatch_chat_without_the_bot_fails_with_add_the_bot(
    client: FlaskClient, admin: factories.Persona, integration: LarkIntegration
) -> None:
    channel = factories.channel(admin.account, [])
    rule(channel, integration, [{"chat_ids": [ONCALL, PAYMENTS]}])
    status, text = check(client, "chats")
    assert status == "failing"
    assert PAYMENTS in text and ONCALL not in text and "Core on-call" in text
    assert "Add bot" in text


def test_removing_the_bot_from_its_only_chat_says_the_chat_list_is_empty(
    client: FlaskClient, admin: factories.Persona, integration: LarkIntegration, lark: LarkSandbox
) -> None:
    channel = factories.channel(admin.account, [])
    rule(channel, integration, [{"chat_ids": [ONCALL]}])
    assert check(client, "chats")[0] == "ok"
    lark.set_bot_in_chat(ONCALL, present=False)
    from webapp.diagnostics import report as diagnostics

    diagnostics.clear_cache()  # the chat list is cached for a minute
    status, text = check(client, "chats")
    assert status == "failing"
    assert "分派策略飞书群聊列表为空" in text and "Add bot" in text


# -- limits ----------------------------------------------------------------------------


def test_rate_limit_answers_in_the_last_day_are_a_warning(
    client: FlaskClient, admin: factories.Persona, integration: LarkIntegration, lark: LarkSandbox
) -> None:
    assert check(client, "rate_limits")[0] == "ok"
    lark.fail("/open-apis/im/v1/messages*", status=429, code=99991400, times=2)
    for _attempt in range(2):
        with pytest.raises(LarkError):
            send_cards(integration, 1)
    status, text = check(client, "rate_limits")
    assert status == "warning"
    assert "rate-limited 2 call(s)" in text and "99991400" in text
    assert "5 messages a second" in text


@pytest.fixture
def free(
    app: Flask, integration: LarkIntegration, lark: LarkSandbox, monkeypatch: Any
) -> LarkIntegration:
    """A free edition with a quota of 10 calls, so that 80 % and 100 % are quick to reach."""
    monkeypatch.setitem(app.config, "LARK_FREE_MONTHLY_QUOTA", 10)
    integration.edition = Edition.FREE
    db.session.commit()
    lark.limits(False)  # ten cards to one chat at once would trip the 5-per-second limit
    lark.set_quota(edition="free", monthly_quota=10, usage=0)
    return integration


@pytest.mark.now("2026-06-15T10:00:00+08:00")
def test_the_monthly_quota_warns_at_80_percent(
    client: FlaskClient, admin: factories.Persona, free: LarkIntegration
) -> None:
    send_cards(free, 7)
    assert check(client, "quota")[0] == "ok"
    send_cards(free, 1)
    status, text = check(client, "quota")
    assert status == "warning"
    assert "8 of 10 calls used this month (80%)" in text
    assert "the quota resets on July 1, 2026" in text
    assert "Upgrade the Lark plan" in text


@pytest.mark.now("2026-06-15T10:00:00+08:00")  # the dates it reads are stated
def test_the_monthly_quota_fails_at_100_percent_and_lark_refuses_more(
    client: FlaskClient, admin: factories.Persona, free: LarkIntegration
) -> None:
    send_cards(free, 10)
    with pytest.raises(LarkError) as refused:
        send_cards(free, 1)
    assert refused.value.code == 99991403
    status, text = check(client, "quota")
    assert status == "failing" and "quota is used up (99991403, 10 of 10 calls" in text
    assert "this app made 10 of them" in text and "resets on July 1, 2026" in text


def test_a_quota_used_up_by_the_tenants_other_apps_still_fails(
    client: FlaskClient, admin: factories.Persona, free: LarkIntegration, lark: LarkSandbox
) -> None:
    lark.set_quota(usage=10)  # other self-built apps of the tenant spent it
    with pytest.raises(LarkError):
        send_cards(free, 1)
    status, text = check(client, "quota")
    assert status == "failing"
    assert "(99991403, 10 of 10 calls; this app made 0 of them)" in text


def test_a_paid_edition_has_no_quota(
    client: FlaskClient, admin: factories.Persona, integration: LarkIntegration
) -> None:
    status, text = check(client, "quota")
    assert status == "ok" and "Paid editions have no monthly API quota." in text


def test_a_missing_permission_fails_the_check_and_the_checklist_step(
    client: FlaskClient, admin: factories.Persona, integration: LarkIntegration, lark: LarkSandbox
) -> None:
    lark.fail("/open-apis/im/v1/chats*", code=99991672, status=400, times=1)
    with pytest.raises(LarkError):
        LarkClient.for_integration(integration).list_all_chats()
    status, text = check(client, "permissions")
    assert status == "failing" and "/open-apis/im/v1/chats" in text and "im:chat" in text
    detail = client.get(f"/admin/integrations/{integration.id}").get_data(as_text=True)
    assert 'class="step step-failing"' in detail


# -- who sees what ---------------------------------------------------------------------


def test_an_admin_sees_only_the_integrations_of_their_account(
    client: FlaskClient, admin: factories.Persona, outsider: factories.Persona, lark: LarkSandbox
) -> None:
    theirs = factories.lark_integration(outsider.account, key="theirs")
    theirs.name = "Globex Lark"
    db.session.commit()
    page = client.get("/admin/diagnostics").get_data(as_text=True)
    assert "Globex Lark" not in page
    assert "Create your first Lark integration" in page


# -- the quota's month turns at midnight Beijing time, whatever the day -----------------------


@pytest.mark.now("2026-12-31T23:59:00+08:00")
def test_on_new_years_eve_the_quota_resets_on_1_january_of_next_year(
    client: FlaskClient, admin: factories.Persona, free: LarkIntegration
) -> None:
    send_cards(free, 8)
    status, text = check(client, "quota")
    assert status == "warning" and "8 of 10 calls used this month (80%)" in text
    assert "the quota resets on January 1, 2027" in text
    status, text = check_in_chinese(client, admin, "quota")
    assert status == "warning" and "2027年1月1日" in text


@pytest.mark.now("2026-12-31T23:59:30+08:00")
def test_at_midnight_beijing_time_the_new_month_starts_from_zero(
    client: FlaskClient,
    admin: factories.Persona,
    free: LarkIntegration,
    clock: Any,
    lark: LarkSandbox,
) -> None:
    send_cards(free, 10)
    assert check(client, "quota")[0] == "failing"

    # 1 January 00:00 in Beijing is still 31 December (16:00) in UTC.
    clock.move_to("2027-01-01T00:00:00+08:00")
    lark.set_quota(edition="free", monthly_quota=10, usage=0)  # Lark's month turned too
    status, text = check(client, "quota")
    assert status == "ok" and "0 of 10 calls used this month (0%)" in text
    assert "the quota resets on February 1, 2027" in text
    assert "2027年2月1日" in check_in_chinese(client, admin, "quota")[1]
    send_cards(free, 1)
    assert "1 of 10 calls used this month" in check(client, "quota")[1]


@pytest.mark.parametrize(
    ("moment", "english", "chinese"),
    [
        ("2027-02-28T23:59:00+08:00", "March 1, 2027", "2027年3月1日"),  # not a leap year
        ("2028-02-28T12:00:00+08:00", "March 1, 2028", "2028年3月1日"),
        ("2028-02-29T23:59:00+08:00", "March 1, 2028", "2028年3月1日"),  # the leap day
        ("2028-02-29T16:30:00+00:00", "April 1, 2028", "2028年4月1日"),  # 1 March in Beijing
    ],
)
def test_at_the_end_of_february_the_quota_resets_on_1_march(
    client: FlaskClient,
    admin: factories.Persona,
    free: LarkIntegration,
    clock: Any,
    moment: str,
    english: str,
    chinese: str,
) -> None:
    clock.move_to(moment)
    send_cards(free, 9)
    status, text = check(client, "quota")
    assert status == "warning" and f"the quota resets on {english}" in text
    assert chinese in check_in_chinese(client, admin, "quota")[1]
