"""The admin's members page (/admin/members): add a member, reset a forgotten password.

A reset either e-mails the member a link (where SMTP_URL is set) or sets a temporary
password shown to the admin once, in this response only: never flashed (the cookie is
signed, not encrypted) and never stored in the clear.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from webapp.extensions import db
from webapp.identity import passwords
from webapp.models import Member
from webapp.views.access import account_row, signed_in_admin

bp = Blueprint("members", __name__, url_prefix="/admin/members")


bp.before_request(signed_in_admin)


def _admin() -> Member:
    admin: Member = current_user._get_current_object()
    return admin


def _member(member_id: int) -> Member:
    return account_row(Member, member_id)


def _page(status: int = 200, **context: Any) -> ResponseReturnValue:
    admin = _admin()
    context.setdefault("form", {})
    page = render_template(
        "admin/members.html",
        members=list(admin.account.members),
        can_email=passwords.can_email(),
        admin_me=admin,
        **context,
    )
    return page, status


@bp.get("")
def page() -> ResponseReturnValue:
    return _page()


@bp.post("")
def add() -> ResponseReturnValue:
    form = {"name": request.form.get("name", ""), "email": request.form.get("email", "")}
    try:
        member, password = passwords.add_member(_admin().account, form["name"], form["email"])
    except passwords.PasswordRefused as refused:
        db.session.rollback()
        return _page(422, form=form, error=str(refused))
    return _page(201, issued=(member, password), added=True)


@bp.post("/<int:member_id>/password")
def reset(member_id: int) -> ResponseReturnValue:
    member = _member(member_id)
    if request.form.get("how") == "mail" and passwords.can_email():
        if passwords.mail_reset_link(member):
            return _page(notice=_("A reset link was e-mailed to %(email)s.", email=member.email))
        return _page(502, error=_("The mail server refused the message; see Diagnostics."))
    return _page(issued=(member, passwords.temporary(member)))
