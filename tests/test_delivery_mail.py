"""E-mail when Lark cannot deliver: a real SMTP server (aiosmtpd, in process, the sandbox's
inbox) receives what the outbox sends; chats that cannot be posted to fall back to people."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests import factories
from tests.conftest import sign_in
from tests.test_dispatch import bind, events, rows, rule
from tests.test_outbox import later
from webapp.config import ConfigError, mail_settings, parse_smtp_url
from webapp.delivery import worker as outbox
from webapp.delivery.outcomes import who_was_told
from webapp.extensions import db
from webapp.models import DeliveryStatus, Severity
from webapp.sandbox import inbox as sandbox_inbox
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox

SEND = "/open-apis/im/v1/messages"
CHAT = seed.ONCALL_CHAT.chat_id


# -- settings ----------------------------------------------------------------------------


def test_smtp_url_is_parsed_and_bad_values_name_the_variable() -> None:
    plain = parse_smtp_url("smtp://ann:p%40ss@mail.example.com:2525")
    assert (plain.tls, plain.host, plain.port, plain.user, plain.password) == (
        False,
        "mail.example.com",
        2525,
        "ann",
        "p@ss",
    )
    assert parse_smtp_url("smtps://mail.example.com").port == 465
    with pytest.raises(ConfigError, match="SMTP_URL"):
        parse_smtp_url("http://mail.example.com")
    with pytest.raises(ConfigError, match="SMTP_URL"):
        parse_smtp_url("smtp://mail.example.com:port")
    with pytest.raises(ConfigError, match="MAIL_FROM"):
        mail_settings({"SMTP_URL": "smtp://mail.example.com"})
    assert mail_settings({}) == {"SMTP_URL": None, "MAIL_FROM": None}


def test_diagnostics_say_whether_e_mail_is_set_up(
    client: FlaskClient, owner: factories.Persona, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    factories.lark_integration(owner.account)
    sign_in(client, owner)
    page = client.get("/admin/diagnostics").get_data(as_text=True)
    assert 'id="check-email"' in page and "No e-mail: SMTP_URL is not set" in page
    monkeypatch.setitem(app.config, "SMTP_URL", "smtp://127.0.0.1:2525")
    monkeypatch.setitem(app.config, "MAIL_FROM", "oncall@example.com")
    page = client.get("/admin/diagnostics").get_data(as_text=True)
    assert "get an e-mail through smtp://127.0.0.1:2525 from oncall@example.com" in page


# -- people Lark cannot reach --------------------------------------------------------------


def test_an_unlinked_member_gets_one_e_mail_with_the_incident_and_why(
    owner: factories.Persona,
    member: factories.Persona,
    lark: LarkSandbox,
    smtp: sandbox_inbox.Inbox,
) -> None:
    integration = factories.lark_integration(owner.account)
    channel = factories.channel(owner.account, [member.member])
    rule(
        channel,
        integration,
        [
            {"member_ids": [member.member.id]},
            {"delay_minutes": 0, "member_ids": [member.member.id]},
        ],
    )
    incident = factories.incident(owner.account, ch=channel, title="Disk full on db-01")

    outbox.run_once()
    later(1)  # the second layer names the same person: still one e-mail

    [mail] = smtp.to(member.member.email)
    assert mail.subject == f"[Critical] Incident #{incident.number}: Disk full on db-01"
    assert f"/lark/{integration.key}/incidents/{incident.number}" in mail.body
    assert "Severity: Critical" in mail.body and "have not linked your Lark account" in mail.body
    assert mail.mail_from == "oncall@example.com"
    [email_row] = rows(incident, "email")
    assert email_row.status is DeliveryStatus.DELIVERED
    told = {(t.channel, t.state) for t in who_was_told(incident)}
    assert ("email", "delivered") in told and ("lark", "failed") in told
    assert events(incident, "notification_fell_back") and events(incident, "emailed")


def test_no_smtp_url_means_no_e_mail_row(
    owner: factories.Persona, member: factories.Persona, lark: LarkSandbox
) -> None:
    integration = factories.lark_integration(owner.account)
    channel = factories.channel(owner.account, [member.member])
    rule(channel, integration, [{"member_ids": [member.member.id]}])
    incident = factories.incident(owner.account, ch=channel)
    outbox.run_once()
    assert rows(incident, "email") == []
    assert events(incident, "notification_failed")


def test_a_used_up_quota_e_mails_the_person(
    owner: factories.Persona, lark: LarkSandbox, smtp: sandbox_inbox.Inbox
) -> None:
    integration = factories.lark_integration(owner.account)
    bind(integration, owner.member, seed.LI_LEI.open_id)
    channel = factories.channel(owner.account, [owner.member])
    rule(channel, integration, [{"assignees": True}])
    lark.set_quota(edition="free", monthly_quota=10, usage=10)
    incident = factories.incident(owner.account, ch=channel, assignees=[owner.member])

    outbox.run_once()  # the card fails (99991403) and writes the e-mail row
    outbox.run_once()

    [mail] = smtp.to(owner.member.email)
    assert f"#{incident.number}" in mail.subject and "monthly API quota is used up" in mail.body


@pytest.mark.parametrize(
    ("severity", "mailed"), [(Severity.CRITICAL, True), (Severity.WARNING, False)]
)
def test_lark_failing_over_two_minutes_e_mails_only_for_a_critical_incident(
    severity: Severity,
    mailed: bool,
    owner: factories.Persona,
    lark: LarkSandbox,
    smtp: sandbox_inbox.Inbox,
) -> None:
    integration = factories.lark_integration(owner.account)
    bind(integration, owner.member, seed.LI_LEI.open_id)
    channel = factories.channel(owner.account, [owner.member])
    rule(channel, integration, [{"assignees": True}])
    lark.fail(SEND, status=503)
    incident = factories.incident(
        owner.account, ch=channel, assignees=[owner.member], severity=severity
    )
    outbox.run_once()
    later(60)
    assert smtp.to(owner.member.email) == []  # one minute: still only retrying
    later(150)
    later(151)
    assert (len(smtp.to(owner.member.email)) == 1) is mailed
    [card] = rows(incident)
    assert card.status is DeliveryStatus.PENDING  # Lark is still tried as well


def test_a_mail_server_that_is_down_is_retried_and_shown_waiting(
    owner: factories.Persona,
    member: factories.Persona,
    lark: LarkSandbox,
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{sandbox_inbox.free_port()}")
    monkeypatch.setitem(app.config, "MAIL_FROM", "oncall@example.com")
    integration = factories.lark_integration(owner.account)
    channel = factories.channel(owner.account, [member.member])
    rule(channel, integration, [{"member_ids": [member.member.id]}])
    incident = factories.incident(owner.account, ch=channel)
    outbox.run_once()
    [row] = rows(incident, "email")
    assert (row.status, row.reason) == (DeliveryStatus.PENDING, "smtp")
    [email_state] = [t for t in who_was_told(incident) if t.channel == "email"]
    assert email_state.state == "waiting" and "mail server" in email_state.words

    server, url = sandbox_inbox.serve()
    try:
        monkeypatch.setitem(app.config, "SMTP_URL", url)
        later(120)
        db.session.expire_all()
        assert rows(incident, "email")[0].status is DeliveryStatus.DELIVERED
        assert len(sandbox_inbox.inbox.to(member.member.email)) == 1
    finally:
        server.stop()


# -- chats that cannot be posted to --------------------------------------------------------


def test_a_chat_without_the_bot_sends_the_card_to_the_policy_s_people_once(
    owner: factories.Persona,
    member: factories.Persona,
    lark: LarkSandbox,
    smtp: sandbox_inbox.Inbox,
) -> None:
    integration = factories.lark_integration(owner.account)
    bind(integration, owner.member, seed.LI_LEI.open_id)
    channel = factories.channel(owner.account, [owner.member, member.member])
    rule(
        channel,
        integration,
        [{"chat_ids": [CHAT], "member_ids": [owner.member.id, member.member.id]}],
    )
    lark.set_bot_in_chat(CHAT, False)
    incident = factories.incident(owner.account, ch=channel)

    outbox.run_once()
    outbox.run_once()

    cards = lark.messages_to(seed.LI_LEI.open_id)
    assert len(cards) == 2  # the policy's own card and the chat's fallback card
    [fell_back] = [
        e for e in events(incident, "notification_fell_back") if e.details.get("to") != "email"
    ]
    assert fell_back.details["reason"] == "bot_not_in_chat"
    assert len(smtp.to(member.member.email)) == 1  # unlinked: one e-mail, not two


def test_nobody_reachable_e_mails_the_channel_s_members_and_the_admins(
    owner: factories.Persona,
    member: factories.Persona,
    lark: LarkSandbox,
    smtp: sandbox_inbox.Inbox,
) -> None:
    integration = factories.lark_integration(owner.account)
    channel = factories.channel(owner.account, [member.member])
    rule(channel, integration, [{"chat_ids": [CHAT]}])
    lark.set_quota(edition="free", monthly_quota=10, usage=10)
    incident = factories.incident(owner.account, ch=channel)

    outbox.run_once()
    outbox.run_once()

    assert [m.to for m in smtp.all()] and {a for m in smtp.all() for a in m.to} == {
        member.member.email,
        owner.member.email,  # the account's owner is an admin
    }
    assert all(f"#{incident.number}" in m.subject for m in smtp.all())


def test_the_sandbox_shows_received_mail_in_its_inbox_linked_from_its_home(
    client: FlaskClient,
    owner: factories.Persona,
    member: factories.Persona,
    lark: LarkSandbox,
    smtp: sandbox_inbox.Inbox,
) -> None:
    integration = factories.lark_integration(owner.account)
    channel = factories.channel(owner.account, [member.member])
    rule(channel, integration, [{"member_ids": [member.member.id]}])
    incident = factories.incident(owner.account, ch=channel, title="Payments are failing")
    outbox.run_once()

    home = client.get("/_lark/").get_data(as_text=True)
    assert 'href="/_lark/inbox"' in home
    page = client.get("/_lark/inbox").get_data(as_text=True)
    assert f"Incident #{incident.number}: Payments are failing" in page
    assert member.member.email in page
