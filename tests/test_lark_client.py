"""The Lark client against the sandbox over real HTTP: tokens, cards, chats, contacts,
errors in the one taxonomy, and the usage it leaves behind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tests import factories
from tests.factories import Persona
from tests.sandbox_fixtures import Receiver
from webapp.extensions import db
from webapp.lark import errors, usage
from webapp.lark import transport as lark_transport
from webapp.lark.client import LarkClient
from webapp.lark.errors import LarkError
from webapp.models import ApiUsage, Edition, LarkApiEvent, LarkIntegration
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox

CARD = {
    "schema": "2.0",
    "config": {"update_multi": True},
    "header": {"title": {"tag": "plain_text", "content": "#1 db-01 is down"}, "template": "red"},
    "body": {"elements": [{"tag": "div", "text": {"tag": "plain_text", "content": "hello"}}]},
}


@pytest.fixture(autouse=True)
def _fresh_tokens() -> Iterator[None]:
    lark_transport.token_cache.clear()
    yield
    lark_transport.token_cache.clear()


@pytest.fixture
def integration(owner: Persona, lark: LarkSandbox) -> LarkIntegration:
    return factories.lark_integration(owner.account, key="k-client")


@pytest.fixture
def api(integration: LarkIntegration) -> LarkClient:
    return LarkClient.for_integration(integration)


def usage_of(integration: LarkIntegration) -> int:
    usage.flush()  # a process writes its counts once a second; the test does not wait
    db.session.expire_all()
    row = db.session.execute(
        select(ApiUsage).where(ApiUsage.integration_id == integration.id)
    ).scalar_one_or_none()
    return row.calls if row else 0


def api_events(integration: LarkIntegration) -> list[str]:
    db.session.expire_all()
    rows = db.session.execute(
        select(LarkApiEvent).where(LarkApiEvent.integration_id == integration.id)
    ).scalars()
    return [r.kind for r in rows]


# -- tokens --------------------------------------------------------------------------------


def test_it_gets_a_tenant_token_once_and_records_the_evidence(
    api: LarkClient, integration: LarkIntegration, lark: LarkSandbox
) -> None:
    first = api.tenant_token()
    assert first.startswith("t-")
    assert api.tenant_token() == first
    assert len(lark.calls("/open-apis/auth/v3/tenant_access_token/internal")) == 1
    db.session.refresh(integration)
    assert integration.token_ok_at is not None
    assert integration.token_error is None


def test_a_wrong_secret_is_bad_credentials_and_is_recorded(
    owner: Persona, lark: LarkSandbox
) -> None:
    integration = factories.lark_integration(owner.account, key="k-bad", app_secret="wrong")
    with pytest.raises(LarkError) as raised:
        LarkClient.for_integration(integration).tenant_token()
    assert raised.value.reason == "bad_credentials"
    assert raised.value.permanent
    db.session.refresh(integration)
    assert integration.token_error and "10015" in integration.token_error


def test_new_credentials_never_get_the_old_credentials_token(
    owner: Persona, lark: LarkSandbox, api: LarkClient
) -> None:
    api.tenant_token()
    other = factories.lark_integration(owner.account, key="k-other", app_secret="wrong")
    with pytest.raises(LarkError):
        LarkClient.for_integration(other).tenant_token()


def test_it_fetches_a_new_token_and_retries_once_when_lark_calls_it_invalid(
    api: LarkClient, lark: LarkSandbox
) -> None:
    api.tenant_token()
    lark.fail("/open-apis/im/v1/messages", code=99991663, times=1)
    sent = api.send_card("open_id", seed.LI_LEI.open_id, CARD, "u-retry")
    assert sent.message_id.startswith("om_")
    assert len(lark.calls("/open-apis/auth/v3/tenant_access_token/internal")) == 2
    assert len(lark.calls("/open-apis/im/v1/messages", method="POST")) == 2


def test_a_token_still_invalid_after_the_retry_is_bad_credentials(
    api: LarkClient, lark: LarkSandbox
) -> None:
    lark.fail("/open-apis/im/v1/messages", code=99991663, times=2)
    with pytest.raises(LarkError) as raised:
        api.send_card("open_id", seed.LI_LEI.open_id, CARD, "u-retry-2")
    assert raised.value.reason == "bad_credentials"


# -- cards ---------------------------------------------------------------------------------


def test_it_sends_a_card_that_the_person_receives_and_counts_one_call(
    api: LarkClient, integration: LarkIntegration, lark: LarkSandbox
) -> None:
    sent = api.send_card("open_id", seed.LI_LEI.open_id, CARD, "u-1")
    [received] = lark.messages_to(seed.LI_LEI.open_id)
    assert received.message_id == sent.message_id
    assert received.title == "#1 db-01 is down"
    assert sent.chat_id == received.chat_id
    assert usage_of(integration) == 1  # the token call is free
    db.session.refresh(integration)
    assert integration.last_send_ok_at is not None


def test_it_updates_a_sent_card_in_place(api: LarkClient, lark: LarkSandbox) -> None:
    sent = api.send_card("open_id", seed.LI_LEI.open_id, CARD, "u-2")
    changed = {**CARD, "header": {**CARD["header"], "template": "green"}}  # type: ignore[dict-item]
    api.update_card(sent.message_id, changed)
    received = lark.message(sent.message_id)
    assert received.card["header"]["template"] == "green"
    assert received.updates == 1


# -- errors in the taxonomy ----------------------------------------------------------------


def test_a_person_outside_the_apps_range_is_not_linked(api: LarkClient) -> None:
    with pytest.raises(LarkError) as raised:
        api.send_card("open_id", seed.OUT_OF_RANGE_USER.open_id, CARD, "u-3")
    assert (raised.value.code, raised.value.reason) == (230013, "not_linked")
    assert raised.value.permanent


def test_a_chat_without_the_bot_is_bot_not_in_chat(api: LarkClient) -> None:
    with pytest.raises(LarkError) as raised:
        api.send_card("chat_id", seed.PAYMENTS_CHAT.chat_id, CARD, "u-4")
    assert raised.value.reason == "bot_not_in_chat"


def test_a_rate_limit_is_transient_with_lark_s_wait_and_is_recorded(
    api: LarkClient, integration: LarkIntegration, lark: LarkSandbox
) -> None:
    lark.fail("/open-apis/im/v1/messages", code=99991400, times=1)
    with pytest.raises(LarkError) as raised:
        api.send_card("open_id", seed.LI_LEI.open_id, CARD, "u-5")
    assert raised.value.reason == "rate_limited"
    assert not raised.value.permanent
    assert raised.value.retry_after == 1.0
    assert api_events(integration) == ["rate_limited"]
    assert usage_of(integration) == 0  # failed calls do not count


def test_the_monthly_quota_is_permanent_and_recorded(
    api: LarkClient, integration: LarkIntegration, lark: LarkSandbox
) -> None:
    integration.edition = Edition.FREE
    db.session.commit()
    lark.app().configure(edition="free", monthly_quota=10, usage=10)
    with pytest.raises(LarkError) as raised:
        api.send_card("open_id", seed.LI_LEI.open_id, CARD, "u-6")
    assert (raised.value.code, raised.value.reason) == (99991403, "quota")
    assert raised.value.permanent
    assert api_events(integration) == ["quota"]


def test_a_server_error_is_transient(api: LarkClient, lark: LarkSandbox) -> None:
    lark.fail("/open-apis/im/v1/messages", status=500, times=1)
    with pytest.raises(LarkError) as raised:
        api.send_card("open_id", seed.LI_LEI.open_id, CARD, "u-7")
    assert raised.value.reason == "server"
    assert not raised.value.permanent


def test_a_hanging_lark_times_out_as_a_network_error(
    integration: LarkIntegration, lark: LarkSandbox
) -> None:
    impatient = LarkClient(
        base_url=integration.api_base_url,
        app_id=integration.app_id,
        app_secret=integration.app_secret,
        timeout=0.3,
        integration_id=integration.id,
    )
    impatient.tenant_token()
    lark.fail("/open-apis/im/v1/messages", hang=1.0, times=1)
    with pytest.raises(LarkError) as raised:
        impatient.send_card("open_id", seed.LI_LEI.open_id, CARD, "u-8")
    assert raised.value.reason == "network"
    assert not raised.value.permanent


def test_an_unreachable_lark_is_a_network_error(app: object) -> None:
    nowhere = LarkClient(base_url="http://127.0.0.1:9", app_id="a", app_secret="s", timeout=1)
    with pytest.raises(LarkError) as raised:
        nowhere.tenant_token()
    assert raised.value.reason == "network"


def test_every_reason_has_a_fix_in_words() -> None:
    for reason in [*errors.REASONS, "network"]:
        assert errors.fix(reason) != errors.fix("no such reason")


def test_unknown_codes_fall_back_on_the_http_status() -> None:
    assert errors.classify(123456, 503) == "server"
    assert errors.classify(123456, 429) == "rate_limited"
    assert errors.classify(123456, 400) == "invalid_request"


# -- chats and contacts --------------------------------------------------------------------


def test_it_lists_the_bot_s_chats_and_records_how_many(
    api: LarkClient, integration: LarkIntegration
) -> None:
    chats = api.list_all_chats()
    assert seed.ONCALL_CHAT.chat_id in {c.chat_id for c in chats}
    assert seed.PAYMENTS_CHAT.chat_id not in {c.chat_id for c in chats}
    db.session.refresh(integration)
    assert integration.chats_seen == len(chats)
    assert integration.chats_listed_at is not None


def test_it_creates_a_chat_and_adds_members(api: LarkClient, lark: LarkSandbox) -> None:
    chat_id = api.create_chat("#1 war room", [seed.LI_LEI.open_id], "u-chat")
    result = api.add_chat_members(chat_id, [seed.HAN_MEIMEI.open_id])
    assert result.invalid == []
    assert seed.HAN_MEIMEI.open_id in lark.sandbox.chats[chat_id].members


def test_it_finds_people_by_email_and_mobile_and_contact_calls_are_free(
    api: LarkClient, integration: LarkIntegration
) -> None:
    found = api.batch_get_id(
        emails=[seed.LI_LEI.email, "nobody@example.com"], mobiles=[seed.HAN_MEIMEI.mobile]
    )
    assert found == {
        seed.LI_LEI.email: seed.LI_LEI.open_id,
        "nobody@example.com": None,
        seed.HAN_MEIMEI.mobile: seed.HAN_MEIMEI.open_id,
    }
    assert usage_of(integration) == 0


# -- delayed update with a callback's card token ---------------------------------------------


def _pressed(api: LarkClient, lark: LarkSandbox, lark_receiver: Receiver) -> tuple[str, str]:
    """Send a card, press its button (answered by a stand-in receiving {}): the c- token."""
    lark.app().configure(card_request_url=lark_receiver.url)
    card = {**CARD, "body": {"elements": [_button("Ack", {"a": "ack"})]}}
    message_id = api.send_card("open_id", seed.LI_LEI.open_id, card, "u-delay").message_id
    assert lark.click(message_id, seed.LI_LEI.open_id, button="Ack").ok
    [received] = lark_receiver.requests
    headers = {k.lower(): v for k, v in received.headers.items()}
    assert "x-lark-signature" in headers
    [token] = [t for t, grant in lark.sandbox.card_tokens.items() if grant.message_id == message_id]
    return message_id, token


def _button(label: str, value: dict[str, str]) -> dict[str, object]:
    return {
        "tag": "button",
        "text": {"tag": "plain_text", "content": label},
        "behaviors": [{"type": "callback", "value": value}],
    }


def test_a_card_token_updates_the_card_after_the_answer(
    api: LarkClient, lark: LarkSandbox, lark_receiver: Receiver
) -> None:
    message_id, token = _pressed(api, lark, lark_receiver)
    api.delay_update(token, {**CARD, "header": {**CARD["header"], "template": "green"}})  # type: ignore[dict-item]
    assert lark.message(message_id).card["header"]["template"] == "green"


def test_an_expired_card_token_is_token_expired(
    api: LarkClient, lark: LarkSandbox, lark_receiver: Receiver
) -> None:
    _message_id, token = _pressed(api, lark, lark_receiver)
    lark.advance(31 * 60)
    with pytest.raises(LarkError) as raised:
        api.delay_update(token, CARD)
    assert (raised.value.code, raised.value.reason) == (300030, "token_expired")
    assert raised.value.permanent
