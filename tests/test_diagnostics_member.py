"""A member's own diagnostics: one line saying linked, licensed, and whether cards arrived."""

from __future__ import annotations

from flask import Flask, render_template_string
from flask.testing import FlaskClient

from tests import factories
from tests.conftest import sign_in
from webapp.diagnostics import report as diagnostics
from webapp.extensions import db
from webapp.models import Delivery, DeliveryStatus, LarkBinding, LarkIntegration


def bind(integration: LarkIntegration, persona: factories.Persona, open_id: str) -> None:
    db.session.add(
        LarkBinding(
            integration_id=integration.id,
            member_id=persona.member.id,
            open_id=open_id,
            lark_name="韩梅梅",
        )
    )
    db.session.commit()


def delivery(
    integration: LarkIntegration, persona: factories.Persona, status: DeliveryStatus, **kw: object
) -> None:
    # Rows the outbox would write (webapp/delivery/worker.py), made here to set the outcome.
    db.session.add(
        Delivery(
            integration_id=integration.id,
            member_id=persona.member.id,
            kind="send_card",
            uuid=f"u-{status}-{kw.get('last_error_code')}",
            status=status,
            **kw,
        )
    )
    db.session.commit()


def test_a_linked_member_with_a_seat_whose_cards_arrived_is_all_green(
    owner: factories.Persona, member: factories.Persona
) -> None:
    integration = factories.lark_integration(owner.account)
    bind(integration, member, "ou_han")
    delivery(integration, member, DeliveryStatus.DELIVERED)
    status = diagnostics.member_status(integration, member.member)
    assert (status.linked, status.licensed, status.notifications_ok) == (True, True, True)
    assert status.level is diagnostics.Level.OK
    assert status.line == (
        "Linked to Lark as 韩梅梅. You hold a license seat. Your last notifications arrived."
    )
    assert status.fix == ""


def test_an_unlinked_member_is_told_to_open_the_app_from_the_workbench(
    owner: factories.Persona, member: factories.Persona
) -> None:
    integration = factories.lark_integration(owner.account)
    status = diagnostics.member_status(integration, member.member)
    assert status.linked is False and status.notifications_ok is None
    assert status.level is diagnostics.Level.FAILING
    assert "Not linked to Lark." in status.line and "No card was sent to you yet." in status.line
    assert "Open the app from the Lark workbench and sign in once." in status.fix


def test_a_member_whose_last_card_failed_sees_the_fix_for_lark_s_code(
    owner: factories.Persona, member: factories.Persona
) -> None:
    integration = factories.lark_integration(owner.account)
    bind(integration, member, "ou_han")
    member.member.has_seat = False
    delivery(
        integration,
        member,
        DeliveryStatus.FAILED,
        reason="not_linked",
        last_error_code=230013,
    )
    status = diagnostics.member_status(integration, member.member)
    assert status.notifications_ok is False and status.last_failure_reason == "not_linked"
    assert "A recent notification did not reach you." in status.line
    assert "You have no license seat." in status.line
    assert "availability range" in status.fix
    assert "Ask an account admin for a license seat" in status.fix


def test_a_member_sees_only_their_own_line_on_the_diagnostics_page(
    client: FlaskClient, owner: factories.Persona, member: factories.Persona
) -> None:
    integration = factories.lark_integration(owner.account)
    bind(integration, member, "ou_han")
    delivery(
        integration,
        owner,
        DeliveryStatus.FAILED,
        reason="bot_not_in_chat",
        last_error_code=230002,
    )
    sign_in(client, member)
    response = client.get("/admin/diagnostics")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Linked to Lark as 韩梅梅." in page
    assert "230002" not in page  # the owner's failure is not theirs to see
    assert "Credentials work" not in page
    assert "/admin/integrations" not in page


def test_a_member_of_an_account_without_integration_is_told_whom_to_ask(
    client: FlaskClient, member: factories.Persona
) -> None:
    sign_in(client, member)
    page = client.get("/admin/diagnostics").get_data(as_text=True)
    assert "Ask an account admin to set one up." in page


def test_any_page_can_show_a_members_line_with_the_shared_partial(
    app: Flask, owner: factories.Persona, member: factories.Persona
) -> None:
    integration = factories.lark_integration(owner.account)
    template = (
        "{% with status = member_status(integration, member) %}"
        '{% include "admin/_member_status.html" %}{% endwith %}'
    )
    with app.test_request_context():
        html = render_template_string(template, integration=integration, member=member.member)
    assert 'id="member-status"' in html
    assert "Not linked to Lark." in html and "Failing" in html
