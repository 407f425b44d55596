"""The admin's API tokens page (/admin/tokens/): make one, see each one's last use, revoke.

A new token's secret is shown once, in the answer to the form that made it (never flashed,
never stored): the page is sent `Cache-Control: no-store` so no cache keeps it either.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime, get_timezone
from flask_babel import gettext as _
from flask_login import current_user

from webapp.extensions import db
from webapp.i18n import ago
from webapp.models import ApiToken, Member, TokenScope, utcnow
from webapp.tokens import service as tokens
from webapp.views.access import signed_in_admin

bp = Blueprint("tokens", __name__, url_prefix="/admin/tokens")
bp.before_request(signed_in_admin)


@bp.context_processor
def _admin_shell() -> dict[str, Any]:
    return {"admin_me": current_user, "dispatch_url": None, "format_ago": ago}


def _admin() -> Member:
    admin: Member = current_user._get_current_object()
    return admin


def _token(token_id: int) -> ApiToken:
    token = tokens.find(_admin().account_id, token_id)
    if token is None:
        abort(404)
    return token


def _page(status: int = 200, **context: Any) -> ResponseReturnValue:
    context.setdefault("form", {})
    page = render_template(
        "admin/tokens.html",
        tokens=tokens.of_account(_admin().account_id),
        now=utcnow(),
        when=lambda moment: format_datetime(moment, "short"),
        api_base=request.host_url.rstrip("/") + "/api/v1",
        **context,
    )
    return page, status, {"Cache-Control": "no-store"}


@bp.get("/")
def page() -> ResponseReturnValue:
    return _page()


@bp.post("/")
def create() -> ResponseReturnValue:
    form = {k: request.form.get(k, "") for k in ("name", "scope", "expires_at")}
    try:
        scope = TokenScope(form["scope"] or TokenScope.READ.value)
    except ValueError:
        return _page(422, form=form, errors={"scope": _("Choose read, or read and write.")})
    try:
        expires_at = _expiry(form["expires_at"])
        token, secret = tokens.create(
            _admin().account_id, form["name"], scope, expires_at, _admin()
        )
    except tokens.TokenInvalid as invalid:
        db.session.rollback()
        return _page(422, form=form, errors={invalid.field: str(invalid)})
    return _page(201, issued=(token, secret))


def _expiry(typed: str) -> datetime | None:
    """The chosen day's start in the admin's time zone: the token works until that day."""
    if not typed.strip():
        return None
    try:
        day = date.fromisoformat(typed.strip())
    except ValueError:
        raise tokens.TokenInvalid("expires_at", _("Pick a day, or leave it empty.")) from None
    zone = get_timezone()
    start = datetime.combine(day, time(0, 0), tzinfo=zone)
    if start <= utcnow():
        raise tokens.TokenInvalid("expires_at", _("The expiry must be in the future."))
    return tokens.as_utc(start)


@bp.route("/<int:token_id>/revoke", methods=["GET", "POST"])
def revoke(token_id: int) -> ResponseReturnValue:
    token = _token(token_id)
    if request.method == "GET" or request.form.get("confirm") != "revoke":
        return render_template("admin/token_revoke.html", token=token)
    tokens.revoke(token, _admin())
    flash(
        _(
            "Token “%(name)s” revoked: requests carrying it are refused from now on.",
            name=token.name,
        )
    )
    return redirect(url_for("tokens.page"), 303)
