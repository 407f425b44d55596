"""Lark's rate limits, the free edition's monthly quota, and fault injection, in the sandbox."""

from __future__ import annotations

import pytest
import requests
from flask.testing import FlaskClient

from tests.sandbox_fixtures import LarkSandbox
from tests.sandbox_helpers import API, bearer, code, send, token
from webapp.sandbox import decisions, limits, seed


def test_fifty_calls_a_second_per_api_then_429_with_the_reset_header(client: FlaskClient) -> None:
    tok = token(client)
    answers = [client.get(f"{API}/im/v1/chats", headers=bearer(tok)) for _ in range(51)]
    assert [a.status_code for a in answers[:50]] == [200] * 50
    limited = answers[50]
    assert limited.status_code == 429 and code(limited) == 99991400
    assert limited.headers["x-ogw-ratelimit-limit"] == "50"
    assert int(limited.headers["x-ogw-ratelimit-reset"]) >= 1
    # another API of the same app has its own budget
    assert (
        code(
            client.post(
                f"{API}/contact/v3/users/batch_get_id", json={"emails": []}, headers=bearer(tok)
            )
        )
        == 0
    )


def test_a_thousand_calls_a_minute_per_api(
    client: FlaskClient, lark: LarkSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert limits.api_limits() == ((50, 1.0), (1000, 60.0))
    monkeypatch.setattr(decisions, "API_PER_MINUTE", 60)  # the same window, fewer calls to make
    tok = token(client)
    for _ in range(2):
        for _ in range(30):
            assert client.get(f"{API}/im/v1/chats", headers=bearer(tok)).status_code == 200
        lark.advance(1.01)
    limited = client.get(f"{API}/im/v1/chats", headers=bearer(tok))
    assert limited.status_code == 429 and code(limited) == 99991400
    assert int(limited.headers["x-ogw-ratelimit-reset"]) > 30
    assert limited.headers["x-ogw-ratelimit-limit"] == "60"


def test_five_messages_a_second_to_one_person_or_chat(client: FlaskClient) -> None:
    tok = token(client)
    codes = [code(send(client, tok, seed.LI_LEI.open_id)) for _ in range(6)]
    assert codes == [0, 0, 0, 0, 0, 230020]
    limited = send(client, tok, seed.LI_LEI.open_id)
    assert limited.status_code == 400
    assert code(send(client, tok, seed.HAN_MEIMEI.open_id)) == 0
    chat = [code(send(client, tok, seed.ONCALL_CHAT.chat_id, id_type="chat_id")) for _ in range(6)]
    assert chat[-1] == 230020


def test_limits_can_be_switched_off(client: FlaskClient, lark: LarkSandbox) -> None:
    lark.limits(False)
    tok = token(client)
    assert {code(send(client, tok, seed.LI_LEI.open_id)) for _ in range(8)} == {0}


def test_the_free_edition_stops_at_its_monthly_quota(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    lark.set_quota(edition="free", monthly_quota=10_000, usage=9_999)
    tok = token(client)
    assert code(send(client, tok, seed.LI_LEI.open_id)) == 0
    assert lark.usage() == 10_000
    over = send(client, tok, seed.HAN_MEIMEI.open_id)
    assert over.status_code == 429 and code(over) == 99991403
    # auth and contact APIs do not count and still work
    assert token(client)
    assert (
        code(
            client.post(
                f"{API}/contact/v3/users/batch_get_id", json={"emails": []}, headers=bearer(tok)
            )
        )
        == 0
    )
    lark.set_quota(edition="paid")
    assert code(send(client, tok, seed.HAN_MEIMEI.open_id)) == 0


def test_only_successful_counted_calls_use_the_quota(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    lark.set_quota(usage=8_000)
    tok = token(client)
    send(client, tok, seed.OUT_OF_RANGE_USER.open_id)  # 230013: failed, not counted
    client.post(
        f"{API}/contact/v3/users/batch_get_id",
        json={"emails": [seed.LI_LEI.email]},
        headers=bearer(tok),
    )
    client.get(f"{API}/im/v1/chats", headers=bearer(tok))
    assert lark.usage() == 8_001


def test_the_quota_turns_over_with_the_month(client: FlaskClient, lark: LarkSandbox) -> None:
    lark.set_quota(edition="free", monthly_quota=1, usage=1)
    tok = token(client)
    assert code(send(client, tok, seed.LI_LEI.open_id)) == 99991403
    lark.advance(32 * 86400)
    assert code(send(client, token(client), seed.LI_LEI.open_id)) == 0


def test_faults_fail_the_next_calls_then_stop(client: FlaskClient, lark: LarkSandbox) -> None:
    lark.fail("/open-apis/im/v1/messages*", status=503, times=2)
    tok = token(client)
    first, second, third = (send(client, tok, seed.LI_LEI.open_id) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
    assert code(first) == 20050
    assert [c.status for c in lark.calls("/open-apis/im/v1/messages", method="POST")] == [
        503,
        503,
        200,
    ]


def test_faults_answer_any_lark_code(client: FlaskClient, lark: LarkSandbox) -> None:
    tok = token(client)
    lark.fail("/open-apis/im/*", code=99991400, times=1)
    limited = send(client, tok, seed.LI_LEI.open_id)
    assert limited.status_code == 429 and limited.headers["x-ogw-ratelimit-reset"] == "1"
    lark.fail("/open-apis/im/*", code=99991403, times=1)
    assert send(client, tok, seed.LI_LEI.open_id).status_code == 429
    lark.fail("/open-apis/im/*", code=230002, times=1)
    assert code(send(client, tok, seed.LI_LEI.open_id)) == 230002


def test_faults_can_last_for_some_seconds(client: FlaskClient, lark: LarkSandbox) -> None:
    tok = token(client)
    lark.fail("/open-apis/*", status=500, seconds=60)
    assert send(client, tok, seed.LI_LEI.open_id).status_code == 500
    assert send(client, tok, seed.LI_LEI.open_id).status_code == 500
    lark.advance(61)
    assert send(client, tok, seed.LI_LEI.open_id).status_code == 200


def test_a_hanging_call_times_out_the_client(live_server: str, lark: LarkSandbox) -> None:
    lark.fail("/open-apis/auth/*", hang=1.0, times=1)
    body = {"app_id": seed.DEMO_APP_ID, "app_secret": seed.DEMO_APP_SECRET}
    url = f"{live_server}/_lark/open-apis/auth/v3/tenant_access_token/internal"
    try:
        requests.post(url, json=body, timeout=0.2)
        timed_out = False
    except requests.Timeout:
        timed_out = True
    assert timed_out
    assert requests.post(url, json=body, timeout=5).json()["code"] == 0


def test_the_fault_api_adds_lists_and_clears_faults(live_server: str) -> None:
    url = f"{live_server}/_lark/_faults"
    added = requests.post(
        url, json={"path": "/open-apis/im/*", "status": 502, "times": 3}, timeout=5
    )
    assert added.status_code == 201
    assert requests.get(url, timeout=5).json()["faults"][0]["status"] == 502
    assert requests.post(url, json={"path": "/x"}, timeout=5).status_code == 400
    assert requests.delete(url, timeout=5).status_code == 204
    assert requests.get(url, timeout=5).json()["faults"] == []


def test_the_control_api_sets_usage_and_switches_limits(
    live_server: str, lark: LarkSandbox
) -> None:
    answer = requests.post(
        f"{live_server}/_lark/_control/quota", json={"usage": 8000}, timeout=5
    ).json()
    assert answer["usage"] == 8000 and lark.usage() == 8000
    requests.post(f"{live_server}/_lark/_control/limits", json={"enabled": False}, timeout=5)
    assert lark.sandbox.limits.enabled is False
    people = requests.post(
        f"{live_server}/_lark/_control/users", json={"count": 3, "prefix": "bench"}, timeout=5
    ).json()
    assert (
        len(people["users"]) == 3
        and lark.user(people["users"][0]["open_id"]).email == "bench.0@example.com"
    )
