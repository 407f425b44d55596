"""Members' own sign-in: e-mail and password. Lark binding builds on it."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from webapp.identity import integrations, passwords, sessions, sign_in
from webapp.identity.login import safe_next
from webapp.models import Member
from webapp.views.lark_login import PENDING_SESSION

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class ForgotForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])


class ResetForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("password", _l("The two passwords differ."))],
    )


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


@bp.route("/login/forgot", methods=["GET", "POST"])
def forgot_password() -> ResponseReturnValue:
    """Ask for a reset link; the answer is the same whether the e-mail is a member's."""
    form = ForgotForm()
    back = safe_next(request.values.get("next"), url_for("auth.login"))
    sent = False
    if passwords.can_email() and form.validate_on_submit():
        passwords.send_reset_link(form.email.data or "", request.remote_addr or "?")
        sent = True
    status = 422 if form.errors else 200
    page = render_template(
        "auth/forgot.html",
        form=form,
        sent=sent,
        can_email=passwords.can_email(),
        back=back,
        admins=_admins_for_pending_lark_user(),
    )
    return page, status


def _admins_for_pending_lark_user() -> list[Member]:
    """The admins to ask, when a Lark user is waiting on the bind page in this browser (it
    already showed them); else none, so this page names nobody's admins to a stranger."""
    pending = session.get(PENDING_SESSION)
    key = pending.get("key") if isinstance(pending, dict) else None
    return passwords.admins_behind(str(key)) if key else []


@bp.route("/login/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    member = passwords.member_for_token(token)
    if member is None:
        return render_template("auth/reset_expired.html"), 410
    form = ResetForm()
    if form.validate_on_submit():
        try:
            passwords.set_new(member, form.password.data or "")
        except passwords.PasswordRefused as refused:
            form.password.errors = [str(refused)]
        else:
            flash(_("Password changed. Sign in with the new one."), "success")
            return redirect(url_for("auth.login"), 303)
    status = 422 if form.errors else 200
    return render_template("auth/reset.html", form=form, member=member), status
