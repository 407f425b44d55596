"""The alert sources page: each source's intake URL, its kind chosen, and the steps per tool."""

from __future__ import annotations

import html
import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import refresh

from tests import factories
from tests.conftest import csrf_token, sign_in
from webapp.extensions import db
from webapp.models import AlertSource, Incident

KINDS = ("alertmanager", "grafana", "zabbix", "nightingale", "generic")
# A phrase of each tool's steps that only that tool's steps hold.
STEPS = {
    "alertmanager": "send_resolved: true",
    "grafana": "Alerting → Contact points → + Add contact point",
    "zabbix": "Alerts → Media types → Import",
    "nightingale": "Callback URLs (回调地址)",
    "generic": "POST a JSON object to the intake URL above with a title",
}


def text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def source(owner: factories.Persona, kind: str = "generic") -> AlertSource:
    ch = factories.channel(owner.account, [owner.member], name="Payments")
    made = factories.alert_source(owner.account, ch)
    made.kind = kind
    db.session.commit()
    return made


def test_the_list_shows_each_source_with_its_tool_and_channel(
    client: FlaskClient, owner: factories.Persona
) -> None:
    source(owner, "zabbix")
    sign_in(client, owner)
    page = text(client.get("/admin/sources/").get_data(as_text=True))
    assert "Alert sources" in page
    assert "Prometheus Zabbix Payments" in page


def test_an_account_without_sources_is_told_what_one_is(
    client: FlaskClient, owner: factories.Persona
) -> None:
    sign_in(client, owner)
    page = text(client.get("/admin/sources/").get_data(as_text=True))
    assert "No alert source yet" in page
    assert "An alert source is an intake URL your monitoring tool posts to" in page


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_shows_its_steps_the_intake_url_and_a_test_command_that_works(
    app: Flask, client: FlaskClient, owner: factories.Persona, kind: str
) -> None:
    made = source(owner, kind)
    sign_in(client, owner)
    raw = client.get(f"/admin/sources/{made.id}").get_data(as_text=True)
    page = text(raw)
    assert STEPS[kind] in page
    for other, phrase in STEPS.items():
        if other != kind:
            assert phrase not in page
    url = f"{app.config['PUBLIC_BASE_URL']}/api/v1/alerts/{made.key}"
    assert f'id="intake-url" type="text" readonly value="{url}"' in raw
    assert 'data-copy="#intake-url"' in raw
    command = html.unescape(re.search(r'id="test-command"[^>]*>([^<]+)</textarea>', raw)[1])
    assert command.startswith("curl -sS -X POST -H 'Content-Type: application/json' -d '")
    assert command.endswith(f"' {url}")
    # The test command's body is what that tool sends: our intake opens an incident from it.
    body = json.loads(command.split(" -d '", 1)[1].rsplit("' ", 1)[0])
    answer = client.post(f"/api/v1/alerts/{made.key}", json=body)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["results"][0]["action"] == "created"
    assert db.session.query(Incident).count() == 1


def test_choosing_a_kind_saves_it_and_shows_that_tools_steps(
    client: FlaskClient, owner: factories.Persona
) -> None:
    made = source(owner)
    sign_in(client, owner)
    token = csrf_token(client, f"/admin/sources/{made.id}")
    response = client.post(
        f"/admin/sources/{made.id}/kind", data={"kind": "nightingale", "csrf_token": token}
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/admin/sources/{made.id}")
    db.session.refresh(made)
    assert made.kind == "nightingale"
    page = text(client.get(f"/admin/sources/{made.id}").get_data(as_text=True))
    assert "Saved: this intake now reads Nightingale alerts." in page
    assert STEPS["nightingale"] in page
    assert "Nightingale alert intake URL" in page


def test_an_unknown_kind_is_refused_with_the_choices_and_nothing_changes(
    client: FlaskClient, owner: factories.Persona
) -> None:
    made = source(owner, "grafana")
    sign_in(client, owner)
    token = csrf_token(client, f"/admin/sources/{made.id}")
    response = client.post(
        f"/admin/sources/{made.id}/kind", data={"kind": "datadog", "csrf_token": token}
    )
    assert response.status_code == 400
    page = text(response.get_data(as_text=True))
    assert "Choose one of: Alertmanager, Grafana, Zabbix, Nightingale, Generic JSON." in page
    db.session.refresh(made)
    assert made.kind == "grafana"
    assert STEPS["grafana"] in page  # the page still shows the saved tool's steps


def test_a_kind_without_its_csrf_token_is_refused(
    client: FlaskClient, owner: factories.Persona
) -> None:
    made = source(owner, "grafana")
    sign_in(client, owner)
    response = client.post(f"/admin/sources/{made.id}/kind", data={"kind": "zabbix"})
    assert response.status_code == 400
    db.session.refresh(made)
    assert made.kind == "grafana"


def test_another_accounts_admin_and_a_plain_member_cannot_see_or_change_a_source(
    client: FlaskClient, owner: factories.Persona, member: factories.Persona
) -> None:
    made = source(owner, "grafana")
    stranger = factories.persona("owner")
    sign_in(client, stranger)
    assert client.get(f"/admin/sources/{made.id}").status_code == 404
    token = csrf_token(client, "/admin/sources/")
    refused = client.post(
        f"/admin/sources/{made.id}/kind", data={"kind": "zabbix", "csrf_token": token}
    )
    assert refused.status_code == 404
    assert made.key not in client.get("/admin/sources/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": token})
    sign_in(client, member)
    assert client.get(f"/admin/sources/{made.id}").status_code == 403
    db.session.refresh(made)
    assert made.kind == "grafana"


def test_in_chinese_the_steps_and_choices_are_chinese(
    client: FlaskClient, owner: factories.Persona
) -> None:
    made = source(owner, "zabbix")
    owner.member.locale = "zh"
    db.session.commit()
    sign_in(client, owner)
    refresh()  # the test's app context outlives each request: forget the last one's locale
    raw = client.get(f"/admin/sources/{made.id}").get_data(as_text=True)
    page = text(raw)
    assert '<html lang="zh-CN"' in raw
    assert "告警来源" in page
    assert "通用 JSON" in page
    assert "choose the file and import it" not in page
    assert "媒介类型" in page
    assert "测试" in page
