"""A member without access walks every incident route and every admin route and learns nothing.

Routes come from `app.url_map`, so a route added later is walked too. Each is tried as a
plain request and as an htmx one, with the member's own CSRF token.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from tests import factories
from tests.conftest import csrf_token, sign_in
from tests.factories import Persona
from tests.test_dispatch import bind, rule
from webapp.dispatch import war_rooms
from webapp.incidents.service import Actor
from webapp.models import Source
from webapp.sandbox import seed
from webapp.views.incidents import VERBS
from webapp.views.lark_context import SESSION_KEY

INCIDENT_PREFIX = "/lark/<key>/incidents/<int:number>"
SECRET_TITLE = "payroll-db leaked credentials"
# Admin routes a plain member may open today: `/admin/` sends them to their own diagnostics,
# and the license page is read-only for them.
MEMBER_PAGES = {"admin.index", "admin.diagnostics_page", "admin.license_page", "admin.license"}


def _rules(app: Flask, prefix: str) -> Iterator[tuple[Rule, str]]:
    for each in app.url_map.iter_rules():
        if each.rule.startswith(prefix):
            for method in sorted((each.methods or set()) - {"HEAD", "OPTIONS"}):
                yield each, method


def _urls(each: Rule, values: dict[str, object]) -> Iterator[str]:
    """Every URL of a rule: `<verb>` takes each verb, `<action>` each licence action."""
    choices = {"verb": list(VERBS), "action": ["assign", "release"]}
    free = [name for name in each.arguments if name not in values]
    assert set(free) <= set(choices), f"no value for {free} in {each.rule}"
    if not free:
        yield _build(each.rule, values)
        return
    [name] = free
    for choice in choices[name]:
        yield _build(each.rule, {**values, name: choice})


def _build(pattern: str, values: dict[str, object]) -> str:
    def fill(match: re.Match[str]) -> str:
        return str(values[match.group(1)])

    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", fill, pattern)


def _leaks(text: str, number: int) -> list[str]:
    found = []
    if SECRET_TITLE in text:
        found.append("title")
    if re.search(rf"#{number}(?![0-9a-fA-F])", text):
        found.append(f"#{number}")
    return found


def test_a_member_without_access_gets_404_from_every_incident_route_and_learns_nothing(
    app: Flask, client: FlaskClient, owner: Persona, member: Persona
) -> None:
    integration = factories.lark_integration(owner.account)
    binding = bind(integration, member.member, seed.HAN_MEIMEI.open_id)
    others = factories.channel(owner.account, [owner.member], name="Payroll")
    for _n in range(12):  # so the hidden incident's number is not a lone digit
        factories.incident(owner.account, title="routine", ch=others)
    hidden = factories.incident(owner.account, title=SECRET_TITLE, ch=others)
    factories.lark_integration(owner.account, key="second")
    # The owner already asked for the war room: the leak answered with the existing one.
    war_rooms.open_war_room(hidden, Actor(owner.member, Source.WEB))
    sign_in(client, member)
    with client.session_transaction() as session:
        session[SESSION_KEY] = {"key": integration.key, "binding": binding.id}
    token = csrf_token(client, f"/lark/{integration.key}/incidents")

    walked = []
    for each, method in _rules(app, INCIDENT_PREFIX):
        for url in _urls(each, {"key": integration.key, "number": hidden.number}):
            for headers in ({}, {"HX-Request": "true"}):
                response = client.open(
                    url,
                    method=method,
                    data={"csrf_token": token, "text": "hi", "minutes": "30"},
                    headers={**headers, "X-CSRFToken": token},
                )
                body = response.get_data(as_text=True) + " ".join(response.headers.values())
                assert response.status_code == 404, (method, url, response.status_code)
                assert _leaks(body, hidden.number) == [], (method, url)
                walked.append(url)
    assert any(url.endswith("/war-room") for url in walked)
    assert len(set(walked)) >= len(VERBS) + 3


def test_a_plain_member_is_refused_every_admin_route_and_learns_nothing(
    app: Flask, client: FlaskClient, owner: Persona, member: Persona
) -> None:
    integration = factories.lark_integration(owner.account)
    others = factories.channel(owner.account, [owner.member], name="Payroll")
    for _n in range(12):
        factories.incident(owner.account, title="routine", ch=others)
    hidden = factories.incident(owner.account, title=SECRET_TITLE, ch=others)
    policy = rule(others, integration, [{"member_ids": [owner.member.id]}])
    sign_in(client, member)
    token = csrf_token(client, "/login")
    values = {
        "channel_id": others.id,
        "rule_id": policy.id,
        "integration_id": integration.id,
        "number": hidden.number,
        "source_id": factories.alert_source(owner.account, others).id,
        "member_id": owner.member.id,
    }

    walked = 0
    for each, method in _rules(app, "/admin"):
        for url in _urls(each, values):
            for headers in ({}, {"HX-Request": "true"}):
                response = client.open(
                    url,
                    method=method,
                    data={"csrf_token": token, "member_id": str(member.member.id)},
                    headers={**headers, "X-CSRFToken": token},
                )
                body = response.get_data(as_text=True) + " ".join(response.headers.values())
                if each.endpoint in MEMBER_PAGES:  # a member's own view of the admin area
                    assert response.status_code in (200, 302), (method, url)
                else:
                    assert response.status_code == 403, (method, url, response.status_code)
                assert _leaks(body, hidden.number) == [], (method, url)
                walked += 1
    assert walked >= 2 * 15
