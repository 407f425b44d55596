"""The demo looks healthy on its first run: its sandbox integration is verified by a real
url_verification handshake, and the sandbox console's examples use this server's address."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import sign_in
from tests.factories import Persona
from tests.test_diagnostics import check
from webapp import demo
from webapp.extensions import db
from webapp.models import LarkIntegration, Member
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox


def test_the_running_demo_saves_the_card_url_and_diagnostics_do_not_fail_it(
    app: Flask, client: FlaskClient, live_server: str, lark: LarkSandbox
) -> None:
    assert app.test_cli_runner().invoke(args=["demo", "load"]).exit_code == 0
    owner = db.session.scalars(select(Member).where(Member.email == "li.lei@example.com")).one()
    sign_in(client, Persona(owner, demo.DEMO_PASSWORD))
    status, text = check(client, "card_url")
    assert (status, "has not verified the card request URL" in text) == ("failing", True)

    passed, words = demo.verify_card_url()

    assert (passed, words) == (True, "Challenge code verified.")
    integration = db.session.scalars(
        select(LarkIntegration).where(LarkIntegration.key == seed.DEMO_INTEGRATION_KEY)
    ).one()
    db.session.refresh(integration)
    assert integration.url_verified_at is not None  # our own answer to Lark's challenge
    status, text = check(client, "card_url")
    assert status != "failing"
    assert "Lark verified the card request URL" in text
    assert lark.app().app.url_verified


def test_the_sandbox_console_examples_use_this_servers_address(
    app: Flask, client: FlaskClient, lark: LarkSandbox
) -> None:
    page = client.get(f"/_lark/console/apps/{seed.DEMO_APP_ID}").get_data(as_text=True)
    base = app.config["PUBLIC_BASE_URL"]
    placeholders = re.findall(r'placeholder="([^"]+)"', page)
    assert f"{base}/lark/&lt;key&gt;/" in placeholders
    assert f"{base}/lark/&lt;key&gt;/card" in placeholders
    assert not any(":5000" in p for p in placeholders)
