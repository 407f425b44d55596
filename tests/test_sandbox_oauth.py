"""Lark login in the sandbox: authorize page, v2 token endpoint with PKCE, user_info."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient

from tests.sandbox_fixtures import LarkSandbox
from tests.sandbox_helpers import API
from webapp.sandbox import seed

CALLBACK = "http://127.0.0.1:5000/lark/demo/oauth/callback"
VERIFIER = "v" * 50
CHALLENGE = (
    base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).decode().rstrip("=")
)
AUTHORIZE = f"{API}/authen/v1/authorize"


def _setup(lark: LarkSandbox) -> None:
    lark.app().configure(redirect_urls=[CALLBACK])


def _authorize_query(**extra: str) -> dict[str, str]:
    return {
        "client_id": seed.DEMO_APP_ID,
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "state": "s-123",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        **extra,
    }


def _exchange(
    client: FlaskClient, code: str, verifier: str = VERIFIER, **extra: str
) -> dict[str, object]:
    body = {
        "grant_type": "authorization_code",
        "client_id": seed.DEMO_APP_ID,
        "client_secret": seed.DEMO_APP_SECRET,
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
        **extra,
    }
    answer = client.post(f"{API}/authen/v2/oauth/token", data=body)
    assert answer.json is not None
    return dict(answer.json, status=answer.status_code)


def test_the_consent_page_asks_then_redirects_with_a_code_and_the_state(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    _setup(lark)
    page = client.get(AUTHORIZE, query_string=_authorize_query())
    assert page.status_code == 200 and "On-call" in page.get_data(as_text=True)
    answer = client.post(
        AUTHORIZE,
        query_string=_authorize_query(),
        data={"open_id": seed.LI_LEI.open_id, "decision": "allow"},
    )
    assert answer.status_code == 302
    params = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert params["state"] == ["s-123"] and len(params["code"][0]) >= 64
    token = _exchange(client, params["code"][0])
    assert token["code"] == 0 and token["token_type"] == "Bearer" and token["expires_in"] == 7200
    info = client.get(
        f"{API}/authen/v1/user_info", headers={"Authorization": f"Bearer {token['access_token']}"}
    ).json
    assert info["code"] == 0
    assert (
        info["data"]["open_id"] == seed.LI_LEI.open_id
        and info["data"]["tenant_key"] == seed.TENANT_KEY
    )
    assert {"name", "en_name", "avatar_url", "union_id", "user_id", "email", "mobile"} <= set(
        info["data"]
    )


def test_refusing_consent_sends_access_denied(client: FlaskClient, lark: LarkSandbox) -> None:
    _setup(lark)
    answer = client.post(
        AUTHORIZE,
        query_string=_authorize_query(),
        data={"open_id": seed.LI_LEI.open_id, "decision": "deny"},
    )
    assert parse_qs(urlsplit(answer.headers["Location"]).query) == {
        "error": ["access_denied"],
        "state": ["s-123"],
    }


def test_inside_the_lark_client_consent_is_silent(client: FlaskClient, lark: LarkSandbox) -> None:
    _setup(lark)
    client.post("/_lark/sign-in", data={"open_id": seed.HAN_MEIMEI.open_id})
    answer = client.get(
        AUTHORIZE, query_string=_authorize_query(), headers={"User-Agent": seed.LARK_USER_AGENT}
    )
    assert answer.status_code == 302 and "code=" in answer.headers["Location"]
    # a plain browser gets the consent page, until the workbench opens the app "in the client"
    assert client.get(AUTHORIZE, query_string=_authorize_query()).status_code == 200
    lark.app().configure(homepage_url="http://127.0.0.1:5000/lark/demo/")
    client.get(f"/_lark/workbench/{seed.DEMO_APP_ID}/open")
    assert client.get(AUTHORIZE, query_string=_authorize_query()).status_code == 302


def test_a_redirect_uri_outside_the_allowlist_gets_the_20029_page(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    _setup(lark)
    for uri in (
        "http://127.0.0.1:5000/lark/demo/oauth/other",
        "http://evil.example/lark/demo/oauth/callback",
    ):
        page = client.get(AUTHORIZE, query_string=_authorize_query(redirect_uri=uri))
        assert page.status_code == 400 and "20029" in page.get_data(as_text=True)
    # query strings are ignored when matching
    assert (
        client.get(
            AUTHORIZE, query_string=_authorize_query(redirect_uri=CALLBACK + "?next=/x")
        ).status_code
        == 200
    )


def test_a_code_is_single_use_and_lives_five_minutes(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    code = lark.oauth_code(seed.LI_LEI.open_id, CALLBACK, code_challenge=CHALLENGE)
    assert _exchange(client, code)["code"] == 0
    again = _exchange(client, code)
    assert again["code"] == 20065 and again["error"] == "invalid_grant" and again["status"] == 400
    late = lark.oauth_code(seed.LI_LEI.open_id, CALLBACK, code_challenge=CHALLENGE)
    lark.advance(301)
    assert _exchange(client, late)["code"] == 20004
    assert _exchange(client, "no-such-code")["code"] == 20003


def test_pkce_and_redirect_uri_must_match(client: FlaskClient, lark: LarkSandbox) -> None:
    code = lark.oauth_code(seed.LI_LEI.open_id, CALLBACK, code_challenge=CHALLENGE)
    assert _exchange(client, code, verifier="w" * 50)["code"] == 20049
    code = lark.oauth_code(seed.LI_LEI.open_id, CALLBACK, code_challenge=CHALLENGE)
    assert _exchange(client, code, redirect_uri=CALLBACK + "x")["code"] == 20071


def test_client_credentials_are_checked(client: FlaskClient, lark: LarkSandbox) -> None:
    code = lark.oauth_code(seed.LI_LEI.open_id, CALLBACK)
    assert _exchange(client, code, client_secret="wrong")["code"] == 20002
    basic = base64.b64encode(f"{seed.DEMO_APP_ID}:{seed.DEMO_APP_SECRET}".encode()).decode()
    both = client.post(
        f"{API}/authen/v2/oauth/token",
        json={
            "grant_type": "authorization_code",
            "code": code,
            "client_secret": seed.DEMO_APP_SECRET,
        },
        headers={"Authorization": f"Basic {basic}"},
    )
    assert both.json["code"] == 20070


def test_a_person_outside_the_visibility_range_gets_20010(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    code = lark.oauth_code(seed.OUT_OF_RANGE_USER.open_id, CALLBACK, code_challenge=CHALLENGE)
    assert _exchange(client, code)["code"] == 20010


def test_a_person_of_another_tenant_reports_their_own_tenant(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    code = lark.oauth_code(seed.OTHER_TENANT_USER.open_id, CALLBACK, code_challenge=CHALLENGE)
    token = _exchange(client, code)
    info = client.get(
        f"{API}/authen/v1/user_info", headers={"Authorization": f"Bearer {token['access_token']}"}
    ).json
    assert info["data"]["tenant_key"] == seed.OTHER_TENANT_KEY != seed.TENANT_KEY


def test_user_info_refuses_a_bad_token_and_refresh_tokens_are_single_use(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    assert (
        client.get(f"{API}/authen/v1/user_info", headers={"Authorization": "Bearer u-nope"}).json[
            "code"
        ]
        == 20005
    )
    assert client.get(f"{API}/authen/v1/user_info").json["code"] == 99991661
    code = lark.oauth_code(seed.LI_LEI.open_id, CALLBACK, scope="offline_access")
    token = _exchange(client, code)
    refresh = {
        "grant_type": "refresh_token",
        "client_id": seed.DEMO_APP_ID,
        "client_secret": seed.DEMO_APP_SECRET,
        "refresh_token": token["refresh_token"],
    }
    assert client.post(f"{API}/authen/v2/oauth/token", json=refresh).json["code"] == 0
    assert client.post(f"{API}/authen/v2/oauth/token", json=refresh).json["code"] == 20064


def _code_for(client: FlaskClient, challenge: str = CHALLENGE) -> str:
    answer = client.post(
        AUTHORIZE,
        query_string=_authorize_query(code_challenge=challenge),
        data={"open_id": seed.LI_LEI.open_id, "decision": "allow"},
    )
    return parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]


def test_a_code_verifier_shorter_than_43_characters_is_refused(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    """Lark's token page: code_verifier has 43 to 128 characters of [A-Za-z0-9-._~]."""
    _setup(lark)
    short = "v" * 42
    digest = hashlib.sha256(short.encode()).digest()
    challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")

    refused = _exchange(client, _code_for(client, challenge), verifier=short)

    assert (refused["status"], refused["code"]) == (400, 20049)
    assert _exchange(client, _code_for(client))["code"] == 0


def test_user_info_gives_e_mail_and_mobile_only_with_their_scopes(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    """Lark's user_info page: email needs contact:user.email:readonly, mobile
    contact:user.phone:readonly."""
    _setup(lark)
    lark.app().configure(scopes={"im:chat", "im:message"})
    token = _exchange(client, _code_for(client))

    info = client.get(
        f"{API}/authen/v1/user_info", headers={"Authorization": f"Bearer {token['access_token']}"}
    ).json

    assert info["code"] == 0 and info["data"]["open_id"] == seed.LI_LEI.open_id
    assert not {"email", "enterprise_email", "mobile"} & set(info["data"])
