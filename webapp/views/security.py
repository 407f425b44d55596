"""A member's own security page (/account/security): change the password, sign out everywhere.

Any signed-in member, admin or not. Both forms carry the CSRF token; a wrong current password
changes nothing.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from webapp.identity import passwords, sessions, sign_in
from webapp.models import Member

bp = Blueprint("security", __name__, url_prefix="/account/security")


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("password", _l("The two passwords differ."))],
    )


class SignOutEverywhereForm(FlaskForm):
    pass


def _me() -> Member:
    member: Member = current_user._get_current_object()
    return member


def _page(form: ChangePasswordForm, status: int = 200) -> ResponseReturnValue:
    page = render_template(
        "auth/security.html",
        form=form,
        everywhere=SignOutEverywhereForm(),
        admin_me=_me(),
        min_length=passwords.MIN_LENGTH,
    )
    return page, status


@bp.get("")
@login_required
def page() -> ResponseReturnValue:
    return _page(ChangePasswordForm(formdata=None))


@bp.post("/password")
@login_required
def change_password() -> ResponseReturnValue:
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    try:
        ended = passwords.change_own(
            _me(), form.current.data or "", form.password.data or "", request.remote_addr or "?"
        )
    except sign_in.TooManyAttempts:
        form.current.errors = [_("Too many attempts. Wait 15 minutes and try again.")]
        return _page(form, 429)
    except passwords.WrongCurrentPassword as wrong:
        form.current.errors = [str(wrong)]
        return _page(form, 422)
    except passwords.PasswordRefused as refused:
        form.password.errors = [str(refused)]
        return _page(form, 422)
    flash(
        _(
            "Password changed. %(n)d other session(s) signed out; you stay signed in here.",
            n=ended,
        ),
        "success",
    )
    return redirect(url_for("security.page"), 303)


@bp.post("/sign-out-everywhere")
@login_required
def sign_out_everywhere() -> ResponseReturnValue:
    if not SignOutEverywhereForm().validate_on_submit():
        return _page(ChangePasswordForm(formdata=None), 400)
    ended = sessions.sign_out_everywhere(_me())
    flash(
        _("You were signed out everywhere (%(n)d sessions ended). Sign in again.", n=ended),
        "success",
    )
    return redirect(url_for("auth.login"), 303)
