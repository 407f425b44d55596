"""A Lark user with no account here learns whose account this is and whom to ask; a member
who forgot the password resets it by e-mail, or an admin resets it on the members page."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import time_machine
from flask.testing import FlaskClient

from tests import factories
from tests.conftest import csrf_token, sign_in
from tests.factories import Persona
from tests.test_identity_flows import Visitor, bind_as, live_bindings, signed_in_as
from webapp.extensions import db
from webapp.models import LarkIntegration, Member, Role
from webapp.sandbox import seed
from webapp.sandbox.inbox import Inbox

NEW_PASSWORD = "a much longer passphrase"


@pytest.fixture
def integration(owner: Persona, live_server: str) -> LarkIntegration:
    return factories.lark_integration(owner.account, tenant_key=seed.TENANT_KEY)


@pytest.fixture
def han(live_server: str, integration: LarkIntegration) -> Visitor:
    return Visitor(live_server, seed.HAN_MEIMEI)


def admin_named(owner: Persona, name: str) -> Member:
    admin = Member(account=owner.account, name=name, email="ops@example.com", role=Role.ADMIN)
    db.session.add(admin)
    db.session.commit()
    return admin


def test_the_link_page_names_the_account_its_admins_and_that_an_admin_adds_people(
    han: Visitor, owner: Persona
) -> None:
    admin_named(owner, "Ops Lead")
    page = han.get("/lark/demo/")
    assert urlsplit(page.url).path == "/lark/demo/bind"
    assert f"Not a member of {owner.account.name} yet?" in page.text
    assert "only its admins can add you" in page.text
    admins = re.search(r'id="lk-admins">(.*?)</p>', page.text, re.S)
    assert admins is not None
    assert owner.member.name in admins.group(1) and "Ops Lead" in admins.group(1)
    assert 'href="mailto:ops@example.com"' in admins.group(1)


def test_a_wrong_password_on_the_link_page_offers_the_reset_and_the_admins(
    han: Visitor, owner: Persona
) -> None:
    han.get("/lark/demo/")
    page = bind_as(han, owner, password="not it")
    assert page.status_code == 422
    assert "Wrong e-mail or password." in page.text
    assert "lk-outsider-stressed" in page.text  # the "whom to ask" box is stressed now
    forgot = re.search(r'href="([^"]+)"[^>]*id="lk-forgot"', page.text)
    assert forgot is not None
    assert han.get(forgot.group(1).replace("&amp;", "&")).status_code == 200
    assert "an admin of your account resets your password" in han.last  # no SMTP_URL here
    assert owner.member.name in han.last  # the admins the link page named


def test_a_member_resets_a_forgotten_password_by_e_mail_and_then_links(
    han: Visitor, member: Persona, smtp: Inbox
) -> None:
    han.get("/lark/demo/")
    han.get("/login/forgot?next=/lark/demo/bind")
    page = han.post("/login/forgot", email=member.member.email.upper(), next="/lark/demo/bind")
    assert "a link to choose a new password is on its way" in page.text
    [mail] = smtp.to(member.member.email)
    assert mail.subject == "Reset your On-call password"
    link = re.search(r"https?://\S+/login/reset/\S+", mail.body)
    assert link is not None
    path = urlsplit(link.group(0)).path
    han.get(path)
    short = han.post(path, password="short", confirm="short")
    assert (short.status_code, "Use at least 10 characters." in short.text) == (422, True)
    done = han.post(path, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert "Password changed. Sign in with the new one." in done.text
    assert han.get(path).status_code == 410  # single use: the hash it named is gone
    assert "Ask for a new link" in han.last
    han.get("/lark/demo/")
    home = bind_as(han, member, password=NEW_PASSWORD)
    assert signed_in_as(home) == member.member.name
    assert len(live_bindings()) == 1


def test_an_unknown_e_mail_gets_the_same_answer_and_no_mail(
    client: FlaskClient, smtp: Inbox
) -> None:
    token = csrf_token(client, "/login/forgot")
    page = client.post("/login/forgot", data={"email": "nobody@example.com", "csrf_token": token})
    assert "a link to choose a new password is on its way" in page.get_data(as_text=True)
    assert smtp.all() == []


def test_a_reset_link_expires_after_an_hour(
    client: FlaskClient, member: Persona, smtp: Inbox, clock: time_machine.Traveller
) -> None:
    token = csrf_token(client, "/login/forgot")
    client.post("/login/forgot", data={"email": member.member.email, "csrf_token": token})
    [mail] = smtp.all()
    link = re.search(r"/login/reset/\S+", mail.body)
    assert link is not None
    assert client.get(link.group(0)).status_code == 200
    clock.shift(61 * 60)
    assert client.get(link.group(0)).status_code == 410


def test_the_login_page_links_to_the_reset(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/login/forgot"' in page


def test_an_admin_resets_a_members_password_and_it_is_shown_once(
    client: FlaskClient, owner: Persona, member: Persona
) -> None:
    sign_in(client, owner)
    page = client.get("/admin/members").get_data(as_text=True)
    assert "No SMTP_URL is set" in page
    assert "E-mail a reset link" not in page
    token = csrf_token(client, "/admin/members")
    response = client.post(
        f"/admin/members/{member.member.id}/password",
        data={"csrf_token": token, "how": "temporary"},
    )
    shown = re.search(r'id="issued-password">([^<]+)<', response.get_data(as_text=True))
    assert shown is not None
    password = shown.group(1)
    assert password not in client.get("/admin/members").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": token})
    sign_in(client, Persona(member.member, password))
    assert f"Signed in as {member.member.name}" in client.get("/").get_data(as_text=True)


def test_an_admin_e_mails_a_reset_link_where_smtp_is_set(
    client: FlaskClient, owner: Persona, member: Persona, smtp: Inbox
) -> None:
    sign_in(client, owner)
    token = csrf_token(client, "/admin/members")
    response = client.post(
        f"/admin/members/{member.member.id}/password", data={"csrf_token": token, "how": "mail"}
    )
    assert f"A reset link was e-mailed to {member.member.email}." in response.get_data(as_text=True)
    [mail] = smtp.to(member.member.email)
    assert "/login/reset/" in mail.body


def test_an_admin_adds_a_lark_user_as_a_member_who_then_links(
    client: FlaskClient, owner: Persona, han: Visitor
) -> None:
    sign_in(client, owner)
    token = csrf_token(client, "/admin/members")
    bad = client.post(
        "/admin/members", data={"csrf_token": token, "name": "Han", "email": "no-at-sign"}
    )
    assert bad.status_code == 422
    assert 'value="no-at-sign"' in bad.get_data(as_text=True)  # what was typed stays
    added = client.post(
        "/admin/members",
        data={"csrf_token": token, "name": "Han Meimei", "email": seed.HAN_MEIMEI.email},
    )
    assert added.status_code == 201
    shown = re.search(r'id="issued-password">([^<]+)<', added.get_data(as_text=True))
    assert shown is not None
    han.get("/lark/demo/")
    new = db.session.query(Member).filter_by(email=seed.HAN_MEIMEI.email).one()
    home = bind_as(han, Persona(new, shown.group(1)))
    assert signed_in_as(home) == "Han Meimei"


def test_a_plain_member_may_not_open_the_members_page(client: FlaskClient, member: Persona) -> None:
    sign_in(client, member)
    assert client.get("/admin/members").status_code == 403


def test_reset_links_to_one_member_are_limited_so_nobody_floods_their_inbox(
    client: FlaskClient, member: Persona, smtp: Inbox
) -> None:
    token = csrf_token(client, "/login/forgot")
    for _ in range(12):
        client.post("/login/forgot", data={"email": member.member.email, "csrf_token": token})
    assert len(smtp.to(member.member.email)) == 10
