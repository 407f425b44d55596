"""The whole path, as a newcomer sees it: SMTP at a real mail server, the sandbox's quota
used up over its control API (or a member never linked), an Alertmanager alert posted to the
alert API, the delivery worker running in the background. Within a minute there is an
e-mail naming the incident, a failed/fell-back line in its timeline, the failure in
diagnostics' last failures and (for the quota) the quota check red with the sandbox's figure.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from tests import factories
from tests.conftest import sign_in
from tests.test_alert_intake import ALERTMANAGER_FIRING, post
from tests.test_diagnostics import bind, check, rule
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.models import Incident, LarkBinding
from webapp.sandbox import inbox as sandbox_inbox
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox

WITHIN = 60.0  # seconds: the "within a minute"


@pytest.fixture
def worker(app: Flask) -> Iterator[None]:
    """`flask lark worker` in this process: one thread polling every 50 ms."""
    stop = threading.Event()
    thread = threading.Thread(target=outbox.run_threads, args=(app, 1, 0.05, stop), daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=10)


def _mail_to(box: sandbox_inbox.Inbox, address: str, started: float) -> sandbox_inbox.Mail:
    while not box.to(address):
        assert time.monotonic() - started < WITHIN, "no e-mail within a minute"
        time.sleep(0.05)
    [mail] = box.to(address)
    return mail


def _timeline(client: FlaskClient, key: str, incident: Incident) -> str:
    page = client.get(f"/lark/{key}/incidents/{incident.number}").get_data(as_text=True)
    start = page.index('id="incident-timeline"')
    return page[start : page.index("</section>", start)]


def _binding_of(persona: factories.Persona) -> int:
    return db.session.query(LarkBinding).filter_by(member_id=persona.member.id).one().id


def _enter(client: FlaskClient, owner: factories.Persona, key: str, binding_id: int) -> None:
    sign_in(client, owner)
    with client.session_transaction() as session:
        session["lark"] = {"key": key, "binding": binding_id}


def test_a_used_up_quota_ends_in_an_e_mail_a_timeline_line_and_red_diagnostics(
    client: FlaskClient,
    owner: factories.Persona,
    lark: LarkSandbox,
    live_server: str,
    smtp: sandbox_inbox.Inbox,
    worker: None,
) -> None:
    integration = factories.lark_integration(owner.account)  # the form's (wrong) paid edition
    bind(integration, owner.member, seed.LI_LEI.open_id)
    channel = factories.channel(owner.account, [owner.member])
    rule(channel, integration, [{"member_ids": [owner.member.id]}])
    source = factories.alert_source(owner.account, channel)
    used_up = requests.post(
        f"{live_server}/_lark/_control/quota",
        json={"edition": "free", "monthly_quota": 10_000, "usage": 10_000},
        timeout=5,
    )
    assert used_up.json()["usage"] == 10_000

    started = time.monotonic()
    assert post(client, source.key, ALERTMANAGER_FIRING).status_code in (200, 201, 202)
    mail = _mail_to(smtp, owner.member.email, started)
    took = time.monotonic() - started

    db.session.expire_all()
    incident = db.session.query(Incident).filter_by(account_id=owner.account.id).one()
    assert f"Incident #{incident.number}: {incident.title}" in mail.subject
    assert "monthly API quota is used up" in mail.body
    assert f"/lark/{integration.key}/incidents/{incident.number}" in mail.body
    _enter(client, owner, integration.key, _binding_of(owner))
    timeline = _timeline(client, integration.key, incident)
    assert "notification failed" in timeline and "notification fell back" in timeline
    page = client.get("/admin/diagnostics").get_data(as_text=True)
    assert "99991403" in page.split("Last delivery failures")[-1]
    status, text = check(client, "quota")
    assert status == "failing" and "10,000 of 10,000 calls" in text
    print(f"quota path: e-mail after {took:.2f}s")  # the report's timing


def test_an_unlinked_member_ends_in_an_e_mail_and_a_timeline_line(
    client: FlaskClient,
    owner: factories.Persona,
    member: factories.Persona,
    lark: LarkSandbox,
    live_server: str,
    smtp: sandbox_inbox.Inbox,
    worker: None,
) -> None:
    integration = factories.lark_integration(owner.account)
    bind(integration, owner.member, seed.LI_LEI.open_id)
    channel = factories.channel(owner.account, [member.member])
    rule(channel, integration, [{"member_ids": [member.member.id]}])
    source = factories.alert_source(owner.account, channel)

    started = time.monotonic()
    assert post(client, source.key, ALERTMANAGER_FIRING).status_code in (200, 201, 202)
    mail = _mail_to(smtp, member.member.email, started)
    took = time.monotonic() - started

    db.session.expire_all()
    incident = db.session.query(Incident).filter_by(account_id=owner.account.id).one()
    assert (
        f"#{incident.number}" in mail.subject and "have not linked your Lark account" in mail.body
    )
    _enter(client, owner, integration.key, _binding_of(owner))
    timeline = _timeline(client, integration.key, incident)
    assert "notification failed" in timeline and "notification fell back" in timeline
    page = client.get("/admin/diagnostics").get_data(as_text=True)
    assert member.member.name in page.split("Last delivery failures")[-1]
    print(f"unlinked path: e-mail after {took:.2f}s")
