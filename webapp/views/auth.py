"""Members' own sign-in: e-mail and password. Lark binding builds on it."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, Length

from webapp.identity import integrations, sessions, sign_in
from webapp.identity.login import safe_next
from webapp.models import Member

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


def authenticate(form: LoginForm) -> Member | None:
    """Check the form's credentials (webapp/identity/sign_in.py: timing, lockout).

    Adds the error to the form and returns None when they are wrong or too frequent.
    """
    try:
        member = sign_in.check_credentials(
            form.email.data or "", form.password.data or "", request.remote_addr or "?"
        )
    except sign_in.TooManyAttempts:
        form.password.errors = [str(_l("Too many attempts. Wait 15 minutes and try again."))]
        return None
    if member is None:
        form.password.errors = [str(_l("Wrong e-mail or password."))]
    return member


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    target = safe_next(request.values.get("next"), url_for("auth.signed_in"))
    if form.validate_on_submit():
        member = authenticate(form)
        if member is not None:
            sessions.sign_in(member)
            return redirect(target, 303)
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form, next=target), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    sessions.sign_out()
    return redirect(url_for("auth.login"), 303)


@bp.get("/")
@login_required
def signed_in() -> ResponseReturnValue:
    """Where a member lands after signing in outside Lark."""
    member: Member = current_user
    if member.is_anonymous:
        abort(401)
    items = integrations.of_account(member.account_id) if member.is_admin else []
    return render_template("auth/signed_in.html", member=member, integrations=items)
