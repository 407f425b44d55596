"""The doorway from Lark: the homepage (网页配置 URL), the OAuth redirect (重定向 URL),
the bind page, switch account, sign out and language.

Every way a login can fail renders `lark/problem.html` with what happened and what to do,
and binds nothing.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.routing import BuildError

from webapp.i18n import LOCALES
from webapp.identity import bindings, licensing, sessions
from webapp.identity.login import safe_next
from webapp.lark import oauth
from webapp.lark.oauth import Failure, LarkUser, LoginError
from webapp.models import LarkBinding, LarkIntegration
from webapp.views import lark_problems as problems
from webapp.views.auth import LoginForm, authenticate
from webapp.views.lark_context import (
    enabled_integration,
    forget,
    lark_member_required,
    remember,
)
from webapp.views.lark_login import (
    PENDING_MAX_AGE,
    PENDING_SESSION,
    redirect_uri,
    take_oauth_round,
)

bp = Blueprint("lark", __name__, url_prefix="/lark/<key>")
log = logging.getLogger(__name__)

# The homepage's default view: the member's incident list.
DEFAULT_VIEW = "incidents_web.list"


# --- shell helpers (Jinja globals) -----------------------------------------------------


@bp.app_template_global()
def url_for_if(endpoint: str, **values: Any) -> str | None:
    """A URL when the app registered the endpoint, else None: the shell links only to
    pages this app serves."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


# The shell's navigation: label, endpoint, URL values, and the endpoint used while the first
# is missing (None: hide the link).
_NAV: tuple[tuple[Any, str, dict[str, str], str | None], ...] = (
    (_l("My incidents"), "incidents_web.list", {}, "lark.home"),
    (_l("All incidents"), "incidents_web.list", {"scope": "all"}, None),
    (_l("License"), "lark_pages.license", {}, None),
    (_l("Diagnostics"), "lark_pages.diagnostics_page", {}, None),
)


@bp.app_template_global()
def lark_nav() -> list[dict[str, Any]]:
    """[{label, url, current}] of the links whose pages exist. The current one is the link
    to this path whose URL values the request carries (the most specific one wins)."""
    items: list[dict[str, Any]] = []
    best, best_size = None, -1
    for label, endpoint, values, fallback in _NAV:
        url = url_for_if(endpoint, **values) or (url_for_if(fallback) if fallback else None)
        if not url:
            continue
        item = {"label": str(label), "url": url, "current": False}
        items.append(item)
        matches = urlsplit(url).path == request.path and all(
            request.args.get(k) == v for k, v in values.items()
        )
        if matches and len(values) > best_size:
            best, best_size = item, len(values)
    if best is not None:
        best["current"] = True
    return items


@bp.app_url_defaults
def _fill_lark_key(endpoint: str, values: dict[str, Any]) -> None:
    """Inside /lark/<key>/..., url_for() of any endpoint taking `key` defaults to this one."""
    if "key" in values or not has_request_context() or not request.view_args:
        return
    key = request.view_args.get("key")
    if (
        key
        and request.path.startswith("/lark/")
        and current_app.url_map.is_endpoint_expecting(endpoint, "key")
    ):
        values["key"] = key


# --- login -------------------------------------------------------------------------


@bp.get("/oauth/callback")
def oauth_callback(key: str) -> ResponseReturnValue:
    integration = enabled_integration(key)
    if integration is None:
        return problems.integration_missing()
    round_ = take_oauth_round(integration)
    if request.args.get("error"):
        return problems.denied(integration)
    if round_ is None:
        return problems.state_invalid(integration)
    code = request.args.get("code", "")
    if not code:
        return problems.login_failure(integration, Failure.CODE, None)
    try:
        user = oauth.finish(integration, redirect_uri(integration), code, round_["verifier"])
    except LoginError as exc:
        log.warning("lark login failed for %s: %s", integration.key, exc)
        return problems.login_failure(integration, exc.failure, exc.code)
    return _arrive(integration, user, round_["next"])


def _same_tenant(integration: LarkIntegration, user: LarkUser) -> bool:
    """A self-built app belongs to one Lark tenant. We learn it from the first login
    when it is not known yet (the integration page may also have learnt it)."""
    if integration.tenant_key is None and user.tenant_key:
        bindings.learn_tenant(integration, user.tenant_key)
    return integration.tenant_key is None or integration.tenant_key == user.tenant_key


def _arrive(integration: LarkIntegration, user: LarkUser, target: str) -> ResponseReturnValue:
    if not _same_tenant(integration, user):
        return problems.other_tenant(integration, user)
    binding = bindings.live_binding(integration, user.open_id)
    if binding is None:
        session[PENDING_SESSION] = {
            "key": integration.key,
            "user": user.to_dict(),
            "next": target,
            "at": int(time.time()),
        }
        return redirect(url_for("lark.bind", key=integration.key), 303)
    bindings.returned(binding, user)
    _sign_in(integration, binding)
    return redirect(target, 303)


def _sign_in(integration: LarkIntegration, binding: LarkBinding) -> None:
    session.pop(PENDING_SESSION, None)
    # A lasting cookie (PERMANENT_SESSION_LIFETIME) rather than a browser-session one: the
    # Lark webview may drop session cookies when the app is closed, and each reopening
    # would then need the OAuth bounce again.
    session.permanent = True
    sessions.sign_in(binding.member)
    remember(integration, binding)


# --- bind --------------------------------------------------------------------------


def _pending_user(integration: LarkIntegration) -> tuple[LarkUser, str] | None:
    pending = session.get(PENDING_SESSION)
    if not isinstance(pending, dict) or pending.get("key") != integration.key:
        return None
    if time.time() - int(pending.get("at", 0)) > PENDING_MAX_AGE:
        return None
    home = url_for("lark.home", key=integration.key)
    return LarkUser.from_dict(pending["user"]), safe_next(pending.get("next"), home)


@bp.route("/bind", methods=["GET", "POST"])
def bind(key: str) -> ResponseReturnValue:
    integration = enabled_integration(key)
    if integration is None:
        return problems.integration_missing()
    pending = _pending_user(integration)
    if pending is None:  # nobody came back from Lark: start (again) from the homepage
        return redirect(url_for("lark.home", key=key), 303)
    user, target = pending
    form = LoginForm()
    if request.method == "GET" and user.email:
        form.email.data = user.email
    refusal = None
    if form.validate_on_submit():
        member = authenticate(form)
        if member is not None:
            try:
                binding = bindings.bind(integration, user, member)
            except bindings.BindingError as exc:
                refusal = str(exc)
            else:
                _sign_in(integration, binding)
                flash(_("Linked. Next time you open the app from Lark you are in at once."))
                return redirect(target, 303)
    status = 422 if (form.errors or refusal) else 200
    page = render_template(
        "lark/bind.html",
        form=form,
        lark_user=user,
        integration=integration,
        refusal=refusal,
        admins=licensing.admins_of(integration.account),
    )
    return page, status


# --- the signed-in shell -----------------------------------------------------------


@bp.get("/")
@lark_member_required
def home(key: str) -> ResponseReturnValue:
    # The incident list is the homepage; the bare shell stands in when it is not registered.
    if DEFAULT_VIEW in current_app.view_functions:
        return redirect(url_for(DEFAULT_VIEW, key=key))
    return render_template("lark/home.html")


@bp.post("/switch-account")
@lark_member_required
def switch_account(key: str) -> ResponseReturnValue:
    binding = g.lark.binding
    user = LarkUser(
        open_id=binding.open_id,
        union_id=binding.union_id,
        user_id=binding.user_id,
        tenant_key=binding.tenant_key,
        name=binding.lark_name or binding.open_id,
        avatar_url=binding.avatar_url,
        email=None,
        mobile=None,
    )
    bindings.switch_account(binding)
    sessions.sign_out()
    forget()
    session[PENDING_SESSION] = {
        "key": key,
        "user": user.to_dict(),
        "next": url_for("lark.home", key=key),
        "at": int(time.time()),
    }
    flash(_("You are signed out and your Lark user is unlinked. Sign in as another member."))
    return redirect(url_for("lark.bind", key=key), 303)


@bp.post("/sign-out")
@lark_member_required
def sign_out(key: str) -> ResponseReturnValue:
    sessions.sign_out()
    forget()
    return redirect(url_for("lark.signed_out", key=key), 303)


@bp.get("/signed-out")
def signed_out(key: str) -> ResponseReturnValue:
    integration = enabled_integration(key)
    if integration is None:
        return problems.integration_missing()
    return render_template("lark/signed_out.html", integration=integration)


@bp.post("/language")
@lark_member_required
def language(key: str) -> ResponseReturnValue:
    chosen = request.form.get("locale", "")
    member = g.lark.member
    bindings.choose_locale(member, chosen if chosen in LOCALES else None)
    target = safe_next(request.form.get("next"), url_for("lark.home", key=key))
    return redirect(target, 303)
