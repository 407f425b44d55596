"""The integration form keeps what was typed, asks Lark about the App Secret on save and
says what Lark answered."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select

from tests import factories
from tests.conftest import csrf_token, sign_in
from webapp.extensions import db
from webapp.models import LarkIntegration
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox


def the_form(live_server: str, **overrides: str) -> dict[str, str]:
    return {
        "name": "On-call",
        "app_id": seed.DEMO_APP_ID,
        "app_secret": seed.DEMO_APP_SECRET,
        "verification_token": seed.DEMO_VERIFICATION_TOKEN,
        "encrypt_key": seed.DEMO_ENCRYPT_KEY,
        "platform": "feishu",
        "edition": "paid",
        "api_base_url": f"{live_server}/_lark",
        **overrides,
    }


def send(client: FlaskClient, path: str, data: dict[str, str]) -> tuple[int, str]:
    response = client.post(path, data={**data, "csrf_token": csrf_token(client, "/admin/license")})
    return response.status_code, response.get_data(as_text=True)


def kept_fields(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="kept_(\w+)" value="([^"]+)"', page))


def test_one_invalid_field_keeps_the_secrets_already_pasted_without_showing_them(
    client: FlaskClient, owner: factories.Persona, live_server: str, lark: LarkSandbox
) -> None:
    sign_in(client, owner)
    status, page = send(client, "/admin/integrations/new", the_form(live_server, name=""))
    assert status == 422
    assert "Give the integration a name" in page
    kept = kept_fields(page)
    assert set(kept) == {"app_secret", "verification_token", "encrypt_key"}
    for secret in (seed.DEMO_APP_SECRET, seed.DEMO_VERIFICATION_TOKEN, seed.DEMO_ENCRYPT_KEY):
        assert secret not in page  # sealed, never echoed
    assert page.count("Kept: what you typed is held") == 3
    assert f'value="{seed.DEMO_APP_ID}"' in page  # plain fields come back as typed
    # The admin fixes the name only, leaving the secret fields blank: the kept ones are used.
    retry = the_form(live_server, app_secret="", verification_token="", encrypt_key="")
    retry |= {f"kept_{name}": value for name, value in kept.items()}
    status, _page = send(client, "/admin/integrations/new", retry)
    assert status == 303
    integration = db.session.scalars(select(LarkIntegration)).one()
    assert (integration.app_secret, integration.verification_token, integration.encrypt_key) == (
        seed.DEMO_APP_SECRET,
        seed.DEMO_VERIFICATION_TOKEN,
        seed.DEMO_ENCRYPT_KEY,
    )


def test_a_kept_secret_sealed_for_another_form_is_not_accepted(
    client: FlaskClient, owner: factories.Persona, live_server: str, lark: LarkSandbox
) -> None:
    sign_in(client, owner)
    _status, page = send(client, "/admin/integrations/new", the_form(live_server, name=""))
    kept = kept_fields(page)
    # The App Secret's sealed value pasted as the Verification Token's: refused, not used.
    forged = the_form(live_server, verification_token="", app_secret="")
    forged |= {"kept_verification_token": kept["app_secret"], "kept_app_secret": kept["app_secret"]}
    status, page = send(client, "/admin/integrations/new", forged)
    assert status == 422
    assert "Paste the Verification Token" in page


def test_a_wrong_app_secret_is_refused_on_save_with_lark_s_code_and_the_fix(
    client: FlaskClient, owner: factories.Persona, live_server: str, lark: LarkSandbox
) -> None:
    sign_in(client, owner)
    wrong = the_form(live_server, app_secret="Wrong_Secret_Wrong_Secret_1234567")
    status, page = send(client, "/admin/integrations/new", wrong)
    assert status == 422
    errors = re.search(r'id="f-app_secret-errors"><li>([^<]+)</li>', page)
    assert errors is not None
    assert re.search(r"Lark answered \d+: ", errors.group(1))
    assert "Copy the App ID and the App Secret again" in errors.group(1)
    assert db.session.scalars(select(LarkIntegration)).all() == []
    # The other secrets were right: they are kept, the wrong one is not.
    assert set(kept_fields(page)) == {"verification_token", "encrypt_key"}


def test_secrets_with_underscores_pass_the_format_check(
    client: FlaskClient, owner: factories.Persona, live_server: str, lark: LarkSandbox
) -> None:
    lark.app().configure(app_secret="uGs_3xQk9T_8vLmZ2pRw7YhN4cDf0Jb1")
    sign_in(client, owner)
    form = the_form(live_server, app_secret="uGs_3xQk9T_8vLmZ2pRw7YhN4cDf0Jb1")
    status, _page = send(client, "/admin/integrations/new", form)
    assert status == 303


def test_lark_not_answering_saves_with_a_warning_that_says_so(
    client: FlaskClient, owner: factories.Persona, live_server: str
) -> None:
    sign_in(client, owner)
    status, _page = send(
        client, "/admin/integrations/new", the_form(live_server, api_base_url="http://127.0.0.1:9")
    )
    assert status == 303
    page = client.get("/admin/integrations").get_data(as_text=True)
    integration = db.session.scalars(select(LarkIntegration)).one()
    detail = client.get(f"/admin/integrations/{integration.id}").get_data(as_text=True)
    assert "Saved without Lark&#39;s word on the App Secret" in detail + page
    assert "Lark could not be reached" in detail


def test_a_good_save_says_lark_accepted_and_ticks_the_credentials_step(
    client: FlaskClient, owner: factories.Persona, live_server: str, lark: LarkSandbox
) -> None:
    sign_in(client, owner)
    status, _page = send(client, "/admin/integrations/new", the_form(live_server))
    assert status == 303
    integration = db.session.scalars(select(LarkIntegration)).one()
    assert integration.token_ok_at is not None and integration.token_error is None


def test_an_edit_that_changes_nothing_of_the_credentials_does_not_ask_lark(
    client: FlaskClient, owner: factories.Persona, live_server: str, lark: LarkSandbox
) -> None:
    integration = factories.lark_integration(owner.account)
    sign_in(client, owner)
    before = len(lark.calls("/open-apis/auth/v3/tenant_access_token/internal"))
    form = the_form(
        live_server, name="Renamed", app_secret="", verification_token="", encrypt_key=""
    )
    status, _page = send(client, f"/admin/integrations/{integration.id}/edit", form)
    assert status == 303
    assert len(lark.calls("/open-apis/auth/v3/tenant_access_token/internal")) == before


def test_an_edit_with_a_wrong_new_secret_keeps_the_stored_one(
    client: FlaskClient, owner: factories.Persona, live_server: str, lark: LarkSandbox
) -> None:
    integration = factories.lark_integration(owner.account)
    sign_in(client, owner)
    form = the_form(live_server, app_secret="Wrong_Secret_Wrong_Secret_1234567")
    status, page = send(client, f"/admin/integrations/{integration.id}/edit", form)
    assert status == 422
    assert "Lark answered" in page
    db.session.refresh(integration)
    assert integration.app_secret == seed.DEMO_APP_SECRET
