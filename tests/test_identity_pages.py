"""The doorway pages that need no answer from Lark: unknown apps, the start of OAuth,
and callbacks that must be refused before Lark is even asked."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests import factories
from tests.conftest import csrf_token
from tests.factories import Persona
from webapp.extensions import db
from webapp.models import LarkBinding, LarkIntegration
from webapp.sandbox import seed


def binding_count() -> int:
    return db.session.execute(select(func.count()).select_from(LarkBinding)).scalar_one()


@pytest.fixture
def integration(owner: Persona) -> LarkIntegration:
    return factories.lark_integration(owner.account, tenant_key=seed.TENANT_KEY)


def start(client: FlaskClient, key: str = "demo") -> dict[str, list[str]]:
    response = client.get(f"/lark/{key}/")
    assert response.status_code == 302
    return parse_qs(urlsplit(response.headers["Location"]).query)


def test_an_unknown_integration_says_it_is_not_connected(client: FlaskClient) -> None:
    for path in ("/lark/nope/", "/lark/nope/oauth/callback?code=x&state=y", "/lark/nope/bind"):
        response = client.get(path)
        assert response.status_code == 404
        assert "This Lark app is not connected" in response.get_data(as_text=True)


def test_a_disabled_integration_says_it_is_not_connected(
    client: FlaskClient, owner: Persona
) -> None:
    factories.lark_integration(owner.account, enabled=False)
    response = client.get("/lark/demo/")
    assert response.status_code == 404
    assert "or it was disabled" in response.get_data(as_text=True)


def test_a_visit_without_a_session_starts_lark_oauth_with_pkce(
    client: FlaskClient, integration: LarkIntegration, app: Flask
) -> None:
    response = client.get("/lark/demo/")
    target = urlsplit(response.headers["Location"])
    query = parse_qs(target.query)
    assert target.path == "/_lark/open-apis/authen/v1/authorize"
    assert query["client_id"] == [seed.DEMO_APP_ID]
    assert query["response_type"] == ["code"]
    assert query["redirect_uri"] == [f"{app.config['PUBLIC_BASE_URL']}/lark/demo/oauth/callback"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert len(query["state"][0]) >= 20
    assert "scope" not in query
    with client.session_transaction() as session:
        [kept] = session["lark_oauth"]
    assert set(kept) == {"key", "state", "verifier", "next", "at"}  # no tokens


def test_the_real_lark_hosts_are_used_for_a_feishu_integration(
    client: FlaskClient, integration: LarkIntegration
) -> None:
    integration.api_base_url = "https://open.feishu.cn"
    db.session.commit()
    location = client.get("/lark/demo/").headers["Location"]
    assert location.startswith("https://accounts.feishu.cn/open-apis/authen/v1/authorize?")


def test_an_htmx_request_without_a_session_reloads_the_homepage(
    client: FlaskClient, integration: LarkIntegration
) -> None:
    response = client.get("/lark/demo/", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"] == "/lark/demo/"


def test_a_callback_with_a_state_we_did_not_issue_binds_nothing(
    client: FlaskClient, integration: LarkIntegration
) -> None:
    start(client)
    response = client.get("/lark/demo/oauth/callback?code=abc&state=forged")
    assert response.status_code == 400
    assert "This sign-in link is no longer valid" in response.get_data(as_text=True)
    assert binding_count() == 0


def test_a_callback_without_a_sign_in_in_progress_binds_nothing(
    client: FlaskClient, integration: LarkIntegration
) -> None:
    response = client.get("/lark/demo/oauth/callback?code=abc&state=whatever")
    assert response.status_code == 400
    assert "no longer valid" in response.get_data(as_text=True)
    assert binding_count() == 0


def test_a_refused_consent_says_so_and_binds_nothing(
    client: FlaskClient, integration: LarkIntegration
) -> None:
    state = start(client)["state"][0]
    response = client.get(f"/lark/demo/oauth/callback?error=access_denied&state={state}")
    assert response.status_code == 403
    assert "You did not allow the sign-in" in response.get_data(as_text=True)
    assert binding_count() == 0


def test_the_bind_page_without_a_lark_user_starts_over(
    client: FlaskClient, integration: LarkIntegration
) -> None:
    response = client.get("/lark/demo/bind")
    assert (response.status_code, response.headers["Location"]) == (303, "/lark/demo/")


def test_switch_account_and_sign_out_need_a_session(
    client: FlaskClient, integration: LarkIntegration
) -> None:
    for path in ("/lark/demo/switch-account", "/lark/demo/sign-out", "/lark/demo/language"):
        response = client.post(path, data={"csrf_token": csrf_token(client)})
        assert (response.status_code, response.headers["Location"]) == (303, "/lark/demo/")


def test_two_sign_ins_started_side_by_side_both_stay_valid(
    client: FlaskClient, integration: LarkIntegration
) -> None:
    first, second = start(client)["state"][0], start(client)["state"][0]
    with client.session_transaction() as session:
        assert [r["state"] for r in session["lark_oauth"]] == [first, second]
