"""The integration center: who may use it, the create form, secrets at rest, delete."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from tests import factories
from tests.conftest import csrf_token, sign_in
from webapp.extensions import db
from webapp.identity import integration_form, integrations
from webapp.models import (
    Delivery,
    DispatchRule,
    Incident,
    LarkBinding,
    LarkIntegration,
    Platform,
)
from webapp.sandbox import seed

SECRET = "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"
TOKEN = "VtokenVtokenVtoken42"
ENCRYPT = "EncKeyEncKeyEncKey77"


def form(**overrides: str) -> dict[str, str]:
    data = {
        "name": "On-call app",
        "app_id": "cli_a1b2c3d4e5f6a7b8",
        "app_secret": SECRET,
        "verification_token": TOKEN,
        "encrypt_key": ENCRYPT,
        "platform": "feishu",
        "edition": "paid",
        "api_base_url": "",
    }
    data.update(overrides)
    return data


def post(client: FlaskClient, path: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
    token = csrf_token(client, "/admin/license")
    return client.post(path, data={**(data or {}), "csrf_token": token}, **kw)


def make(account: Any, **overrides: str) -> LarkIntegration:
    integration, _warnings = integrations.create(
        account, integration_form.IntegrationInput(**form(**overrides))
    )
    return integration


# -- who may come in -------------------------------------------------------------------


def test_a_visitor_who_is_not_signed_in_is_sent_to_the_member_login(client: FlaskClient) -> None:
    response = client.get("/admin/integrations")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_plain_member_cannot_open_the_integration_center(
    client: FlaskClient, member: factories.Persona
) -> None:
    sign_in(client, member)
    assert client.get("/admin/integrations").status_code == 403
    assert client.get("/admin/integrations/new").status_code == 403


def test_an_admin_cannot_open_another_accounts_integration(
    client: FlaskClient, owner: factories.Persona, outsider: factories.Persona
) -> None:
    theirs = make(outsider.account)
    sign_in(client, owner)
    assert client.get(f"/admin/integrations/{theirs.id}").status_code == 404
    assert post(client, f"/admin/integrations/{theirs.id}/test").status_code == 404
    assert (
        post(client, f"/admin/integrations/{theirs.id}/delete", {"confirm": "delete"}).status_code
        == 404
    )
    assert db.session.get(LarkIntegration, theirs.id) is not None


def test_a_form_without_the_csrf_token_is_refused(
    client: FlaskClient, owner: factories.Persona
) -> None:
    sign_in(client, owner)
    response = client.post("/admin/integrations/new", data=form())
    assert response.status_code == 400
    assert db.session.scalars(select(LarkIntegration)).first() is None


# -- the empty state and the create form -----------------------------------------------


def test_with_no_integration_the_page_says_how_to_start(
    client: FlaskClient, owner: factories.Persona
) -> None:
    sign_in(client, owner)
    page = client.get("/admin/integrations").get_data(as_text=True)
    assert "Create your first Lark integration" in page
    assert "企业自建应用" in page


def test_the_create_form_asks_for_the_guides_fields(
    client: FlaskClient, owner: factories.Persona
) -> None:
    sign_in(client, owner)
    page = client.get("/admin/integrations/new").get_data(as_text=True)
    for name in ("name", "app_id", "app_secret", "verification_token", "encrypt_key"):
        assert f'name="{name}"' in page
        assert f'for="f-{name}"' in page
    assert 'name="platform"' in page and 'name="edition"' in page
    # The sandbox is on in tests: the Open API base is prefilled with it.
    assert "/_lark" in page


def test_creating_an_integration_shows_the_four_urls_to_paste_into_lark(
    app: Flask, client: FlaskClient, owner: factories.Persona
) -> None:
    sign_in(client, owner)
    response = post(client, "/admin/integrations/new", form())
    assert response.status_code == 303
    integration = db.session.scalars(select(LarkIntegration)).one()
    assert len(integration.key) >= 32
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    base = app.config["PUBLIC_BASE_URL"]
    assert f'value="{base}/lark/{integration.key}/"' in page
    assert f'value="{base}/lark/{integration.key}/oauth/callback"' in page
    assert f'value="{base}/lark/{integration.key}/card"' in page
    assert f'value="{base}/lark/{integration.key}/events"' in page
    assert page.count("data-copy=") == 4
    assert "网页配置" in page and "重定向 URL" in page and "消息卡片请求网址" in page


def test_the_platform_chooses_the_default_open_api_and_accounts_hosts(
    app: Flask, owner: factories.Persona
) -> None:
    feishu = make(owner.account)
    lark = make(owner.account, platform="lark")
    assert feishu.api_base_url == app.config["LARK_FEISHU_API_BASE"]
    assert feishu.accounts_base_url == app.config["LARK_FEISHU_ACCOUNTS_BASE"]
    assert lark.platform is Platform.LARK
    assert lark.api_base_url == app.config["LARK_INTL_API_BASE"]
    assert lark.accounts_base_url == app.config["LARK_INTL_ACCOUNTS_BASE"]


def test_a_custom_open_api_base_such_as_the_sandbox_serves_oauth_too(
    live_server: str, owner: factories.Persona
) -> None:
    integration = make(
        owner.account,
        api_base_url=f"{live_server}/_lark/",
        app_id=seed.DEMO_APP_ID,  # the sandbox knows its own app: the save asks it
        app_secret=seed.DEMO_APP_SECRET,
    )
    assert integration.api_base_url == f"{live_server}/_lark"
    assert integration.accounts_base_url == f"{live_server}/_lark"


def test_wrong_formats_are_named_field_by_field(
    client: FlaskClient, owner: factories.Persona
) -> None:
    sign_in(client, owner)
    bad = form(app_id="a1b2c3d4", app_secret="short", verification_token="", name="")
    response = post(client, "/admin/integrations/new", bad)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "An App ID starts with cli_" in page
    assert "An App Secret is about 32 letters, digits, _ or -" in page
    assert "Paste the Verification Token" in page
    assert "Give the integration a name" in page
    assert 'aria-invalid="true"' in page
    assert "short" not in page  # a refused secret is not echoed back
    assert db.session.scalars(select(LarkIntegration)).first() is None


def test_pasted_values_are_trimmed_and_the_sandbox_app_id_is_accepted(
    owner: factories.Persona,
) -> None:
    integration = make(owner.account, app_id="  cli_sandbox_oncall \n", app_secret=f" {SECRET} ")
    assert integration.app_id == "cli_sandbox_oncall"
    assert integration.app_secret == SECRET


def test_an_open_api_base_must_be_https_outside_the_sandbox(
    app: Flask, owner: factories.Persona, monkeypatch: Any
) -> None:
    monkeypatch.setitem(app.config, "LARK_SANDBOX", False)
    try:
        make(owner.account, api_base_url="http://10.0.0.1/steal")
    except integration_form.IntegrationInvalid as invalid:
        assert "https://" in invalid.errors["api_base_url"]
    else:
        raise AssertionError("an http:// base was accepted")


def test_without_an_encrypt_key_the_admin_is_told_it_is_recommended(
    client: FlaskClient, owner: factories.Persona
) -> None:
    sign_in(client, owner)
    response = post(client, "/admin/integrations/new", form(encrypt_key=""))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "No Encrypt Key" in page and "recommended" in page


# -- secrets ---------------------------------------------------------------------------


def test_secrets_are_encrypted_in_the_database(owner: factories.Persona) -> None:
    integration = make(owner.account)
    row = db.session.execute(
        text(
            "SELECT app_secret_sealed, verification_token_sealed, encrypt_key_sealed "
            "FROM lark_integration WHERE id = :id"
        ),
        {"id": integration.id},
    ).one()
    for raw, plain in zip(row, (SECRET, TOKEN, ENCRYPT), strict=True):
        assert plain not in raw
        assert raw.startswith("gAAAA")  # a Fernet token


def test_secrets_are_never_in_the_page_only_their_last_four_characters(
    client: FlaskClient, owner: factories.Persona
) -> None:
    integration = make(owner.account)
    sign_in(client, owner)
    pages = [
        client.get(f"/admin/integrations/{integration.id}").get_data(as_text=True),
        client.get(f"/admin/integrations/{integration.id}/edit").get_data(as_text=True),
    ]
    for page in pages:
        for secret in (SECRET, TOKEN, ENCRYPT):
            assert secret not in page
            assert secret[:-4] not in page
    assert SECRET[-4:] in pages[0]


def test_a_blank_secret_field_keeps_the_stored_secret_and_a_new_one_replaces_it(
    client: FlaskClient, owner: factories.Persona
) -> None:
    integration = make(owner.account)
    sign_in(client, owner)
    path = f"/admin/integrations/{integration.id}/edit"
    kept = form(name="Renamed", app_secret="", verification_token="", encrypt_key="")
    assert post(client, path, kept).status_code == 303
    db.session.refresh(integration)
    assert integration.name == "Renamed"
    assert (integration.app_secret, integration.verification_token) == (SECRET, TOKEN)
    assert integration.encrypt_key == ENCRYPT
    new_secret = "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4"
    assert post(client, path, form(app_secret=new_secret)).status_code == 303
    db.session.refresh(integration)
    assert integration.app_secret == new_secret


def test_new_credentials_forget_the_evidence_they_invalidate(owner: factories.Persona) -> None:
    from webapp.models import utcnow

    integration = make(owner.account)
    integration.token_ok_at = integration.url_verified_at = utcnow()
    db.session.commit()
    integrations.update(
        integration,
        integration_form.IntegrationInput(**form(verification_token="NewTokenNewToken")),
    )
    assert integration.token_ok_at is None  # a new secret was typed (the same one, retyped)
    assert integration.url_verified_at is None


def test_rotating_data_key_reencrypts_every_secret(
    app: Flask, owner: factories.Persona, monkeypatch: Any
) -> None:
    from webapp import vault

    integration = make(owner.account)
    iid, old_key = integration.id, app.config["DATA_KEY"]
    new_key = vault.new_key()
    monkeypatch.setitem(app.config, "DATA_KEY", f"{new_key},{old_key}")
    result = app.test_cli_runner().invoke(args=["secrets", "rotate"])
    assert result.exit_code == 0, result.output
    assert "1 Lark integration" in result.output
    monkeypatch.setitem(app.config, "DATA_KEY", new_key)  # the old key is gone
    db.session.expire_all()
    rotated = db.session.get(LarkIntegration, iid)
    assert rotated is not None
    assert (rotated.app_secret, rotated.verification_token, rotated.encrypt_key) == (
        SECRET,
        TOKEN,
        ENCRYPT,
    )
    try:
        vault.unseal(rotated.app_secret_sealed, old_key)
    except vault.VaultError:
        pass
    else:
        raise AssertionError("the old key still opens the rotated secret")


# -- disable and delete ----------------------------------------------------------------


def test_disabling_asks_nothing_but_deleting_asks_for_confirmation(
    client: FlaskClient, owner: factories.Persona
) -> None:
    integration = make(owner.account)
    sign_in(client, owner)
    base = f"/admin/integrations/{integration.id}"
    assert post(client, f"{base}/enabled", {"enabled": "0"}).status_code == 303
    db.session.refresh(integration)
    assert integration.enabled is False
    confirm = client.get(f"{base}/delete")
    assert "Incidents and their timelines are kept" in confirm.get_data(as_text=True)
    unconfirmed = post(client, f"{base}/delete")
    assert unconfirmed.status_code == 200
    assert db.session.get(LarkIntegration, integration.id) is not None


def test_deleting_an_integration_keeps_the_incidents(
    client: FlaskClient, owner: factories.Persona
) -> None:
    integration = make(owner.account)
    incident = factories.incident(owner.account)
    db.session.add_all(
        [
            LarkBinding(integration_id=integration.id, member_id=owner.member.id, open_id="ou_1"),
            Delivery(
                integration_id=integration.id,
                incident_id=incident.id,
                kind="send_card",
                uuid="u-1",
            ),
            DispatchRule(
                channel_id=factories.channel(owner.account, []).id,
                integration_id=integration.id,
                name="All",
            ),
        ]
    )
    db.session.commit()
    sign_in(client, owner)
    response = post(client, f"/admin/integrations/{integration.id}/delete", {"confirm": "delete"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(LarkIntegration, integration.id) is None
    assert db.session.scalars(select(LarkBinding)).first() is None
    assert db.session.scalars(select(Delivery)).first() is None
    kept = db.session.get(Incident, incident.id)
    assert kept is not None and kept.events


def test_the_encrypt_key_can_be_removed_on_purpose_and_the_admin_is_warned(
    client: FlaskClient, owner: factories.Persona
) -> None:
    integration = make(owner.account)
    sign_in(client, owner)
    path = f"/admin/integrations/{integration.id}/edit"
    blank = form(app_secret="", verification_token="", encrypt_key="")
    response = post(client, path, {**blank, "remove_encrypt_key": "1"})
    assert response.status_code == 303
    db.session.refresh(integration)
    assert integration.encrypt_key is None
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "No Encrypt Key" in page and "not set (recommended)" in page


def test_a_refused_edit_keeps_the_stored_values_and_echoes_no_secret(
    client: FlaskClient, owner: factories.Persona
) -> None:
    integration = make(owner.account)
    sign_in(client, owner)
    bad = form(app_id="nope", app_secret="Q" * 32)
    response = post(client, f"/admin/integrations/{integration.id}/edit", bad)
    assert response.status_code == 422
    assert "Q" * 32 not in response.get_data(as_text=True)
    db.session.expire_all()
    kept = db.session.get(LarkIntegration, integration.id)
    assert kept is not None and kept.app_id == "cli_a1b2c3d4e5f6a7b8" and kept.app_secret == SECRET


def test_the_top_bar_links_admins_to_every_admin_page_and_members_to_theirs(
    client: FlaskClient, owner: factories.Persona, member: factories.Persona
) -> None:
    sign_in(client, owner)
    page = client.get("/admin/license").get_data(as_text=True)
    assert owner.account.name in page
    for href in ("/admin/integrations", "/admin/license", "/admin/diagnostics", "/admin/channels"):
        assert f'href="{href}"' in page
    client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/license")})
    sign_in(client, member)
    page = client.get("/admin/license").get_data(as_text=True)
    assert 'href="/admin/diagnostics"' in page
    assert 'href="/admin/integrations"' not in page and 'href="/admin/channels"' not in page
