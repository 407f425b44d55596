"""The admin's side: integration center, license seats, diagnostics (/admin/...).

Owners and admins manage everything; plain members get 403 on the integration center and
a read-only view of the license page and their own diagnostics. Objects of another
account answer 404, as if they did not exist.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user

from webapp.delivery import lark_limits
from webapp.delivery import outcomes as outbox_outcomes
from webapp.diagnostics import checklist
from webapp.diagnostics import report as diagnostics
from webapp.extensions import db, login_manager
from webapp.i18n import ago
from webapp.identity import bindings, credentials, integrations, licensing
from webapp.identity.integration_form import IntegrationInput, IntegrationInvalid
from webapp.incidents import lookup as incident_lookup
from webapp.lark.errors import LarkError
from webapp.models import Edition, LarkIntegration, Member, Platform, utcnow
from webapp.paging import budget as paging_budget
from webapp.views.access import account_row, require_admin

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def _signed_in() -> ResponseReturnValue | None:
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


@bp.context_processor
def _nav() -> dict[str, Any]:
    return {
        "dispatch_url": _dispatch_url(),
        "admin_me": current_user,
        "format_ago": ago,
        "format_when": _format_when,
    }


def _format_when(when: datetime) -> str:
    return format_datetime(when, "short")


def _dispatch_url() -> str | None:
    """The channels page (dispatch policies), when the app has one."""
    for rule in current_app.url_map.iter_rules():
        if rule.rule.rstrip("/") == "/admin/channels" and "GET" in (rule.methods or ()):
            return url_for(rule.endpoint)
    return None


# -- access ----------------------------------------------------------------------------


def _me() -> Member:
    member: Member = current_user._get_current_object()
    return member


def _admin() -> Member:
    return require_admin()


def _integration(integration_id: int) -> LarkIntegration:
    return account_row(LarkIntegration, integration_id, _admin().account_id)


def _is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def _toast(response: Any, message: str, kind: str = "success") -> Any:
    response.headers["HX-Trigger"] = json.dumps({"toast": {"message": message, "kind": kind}})
    return response


def _page(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    response = make_response(render_template(template, **context), status)
    response.headers["Vary"] = "HX-Request"
    return response


# -- integration center ----------------------------------------------------------------


@bp.get("/")
def index() -> ResponseReturnValue:
    target = "admin.integrations_list" if _me().is_admin else "admin.diagnostics_page"
    return redirect(url_for(target))


@bp.get("/integrations")
def integrations_list() -> ResponseReturnValue:
    admin = _admin()
    return _page("admin/integrations.html", items=integrations.of_account(admin.account_id))


def _form_input(integration_id: int | None = None) -> IntegrationInput:
    form = request.form

    def secret(name: str) -> str:  # typed now, else kept from the last try (credentials.py)
        typed = form.get(name, "")
        return typed or credentials.kept(name, form.get(f"kept_{name}", ""), integration_id)

    return IntegrationInput(
        name=form.get("name", ""),
        app_id=form.get("app_id", ""),
        app_secret=secret("app_secret"),
        verification_token=secret("verification_token"),
        encrypt_key=secret("encrypt_key"),
        platform=form.get("platform", Platform.FEISHU.value),
        edition=form.get("edition", Edition.PAID.value),
        api_base_url=form.get("api_base_url", ""),
        remove_encrypt_key=form.get("remove_encrypt_key") == "1",
    )


def _form_page(
    integration: LarkIntegration | None, data: IntegrationInput, errors: dict[str, str], status: int
) -> ResponseReturnValue:
    typed = {name: getattr(data, name) for name in credentials.SECRET_FIELDS}
    kept = credentials.keep_valid(typed, errors, integration.id if integration else None)
    for name in credentials.SECRET_FIELDS:
        setattr(data, name, "")  # never echo a secret into the page
    return _page(
        "admin/integration_form.html",
        status,
        integration=integration,
        data=data,
        errors=errors,
        kept=kept,
        platforms=list(Platform),
        editions=list(Edition),
        defaults={p.value: integrations.default_bases(p)[0] for p in Platform},
        sandbox_base=integrations.sandbox_base() if current_app.config["LARK_SANDBOX"] else None,
    )


@bp.route("/integrations/new", methods=["GET", "POST"])
def integration_new() -> ResponseReturnValue:
    admin = _admin()
    if request.method == "GET":
        data = IntegrationInput()
        if current_app.config["LARK_SANDBOX"]:
            data.api_base_url = integrations.sandbox_base()
        return _form_page(None, data, {}, 200)
    data = _form_input()
    try:
        integration, warnings = integrations.create(admin.account, data)
    except IntegrationInvalid as invalid:
        return _form_page(None, data.cleaned(), invalid.errors, 422)
    flash(_("Integration created. Paste the four URLs below into the Lark developer console."))
    for warning in warnings:
        flash(warning, "warning")
    return redirect(url_for("admin.integration_detail", integration_id=integration.id), 303)


def _edit_input(integration: LarkIntegration) -> IntegrationInput:
    return IntegrationInput(
        name=integration.name,
        app_id=integration.app_id,
        platform=integration.platform.value,
        edition=integration.edition.value,
        api_base_url=integration.api_base_url,
    )


@bp.route("/integrations/<int:integration_id>/edit", methods=["GET", "POST"])
def integration_edit(integration_id: int) -> ResponseReturnValue:
    integration = _integration(integration_id)
    if request.method == "GET":
        return _form_page(integration, _edit_input(integration), {}, 200)
    data = _form_input(integration.id)
    try:
        warnings = integrations.update(integration, data)
    except IntegrationInvalid as invalid:
        db.session.rollback()
        return _form_page(integration, data.cleaned(), invalid.errors, 422)
    flash(_("Changes saved."))
    for warning in warnings:
        flash(warning, "warning")
    return redirect(url_for("admin.integration_detail", integration_id=integration.id), 303)


@bp.get("/integrations/<int:integration_id>")
def integration_detail(integration_id: int) -> ResponseReturnValue:
    integration = _integration(integration_id)
    steps = checklist.steps(integration)
    return _page(
        "admin/integration.html",
        integration=integration,
        urls=integrations.urls(integration),
        steps=steps,
        progress=checklist.progress(steps),
        masked=_masked(integration),
        edition_set_free=lark_limits.edition_set_free_at(integration),
        check=None,
    )


def _masked(integration: LarkIntegration) -> dict[str, str]:
    try:
        return {
            "app_secret": integrations.mask(integration.app_secret),
            "verification_token": integrations.mask(integration.verification_token),
            "encrypt_key": integrations.mask(integration.encrypt_key),
        }
    except Exception:  # a DATA_KEY that no longer opens them: say so, do not crash
        unreadable = _("cannot be decrypted with DATA_KEY; enter it again")
        return dict.fromkeys(("app_secret", "verification_token", "encrypt_key"), unreadable)


@bp.post("/integrations/<int:integration_id>/test")
def integration_test(integration_id: int) -> ResponseReturnValue:
    integration = _integration(integration_id)
    check = integrations.check_credentials(integration)
    if _is_htmx():
        steps = checklist.steps(integration)
        response = _page(
            "admin/_credentials.html",
            integration=integration,
            check=check,
            steps=steps,
            progress=checklist.progress(steps),
        )
        return _toast(response, check.message, "success" if check.ok else "error")
    flash(check.message, "success" if check.ok else "error")
    return redirect(url_for("admin.integration_detail", integration_id=integration.id), 303)


@bp.post("/integrations/<int:integration_id>/enabled")
def integration_enabled(integration_id: int) -> ResponseReturnValue:
    integration = _integration(integration_id)
    enable = request.form.get("enabled") == "1"
    integrations.set_enabled(integration, enable)
    flash(_("Integration enabled.") if enable else _("Integration disabled."))
    return redirect(url_for("admin.integration_detail", integration_id=integration.id), 303)


@bp.route("/integrations/<int:integration_id>/delete", methods=["GET", "POST"])
def integration_delete(integration_id: int) -> ResponseReturnValue:
    integration = _integration(integration_id)
    if request.method == "GET" or request.form.get("confirm") != "delete":
        return _page("admin/delete.html", integration=integration)
    name = integration.name
    integrations.delete_integration(integration)
    flash(_("Integration “%(name)s” deleted. Incidents and their timelines were kept.", name=name))
    return redirect(url_for("admin.integrations_list"), 303)


@bp.post("/integrations/<int:integration_id>/link-members")
def integration_link_members(integration_id: int) -> ResponseReturnValue:
    """One-click link of members to Lark users by e-mail and mobile (identity/bindings.py)."""
    integration = _integration(integration_id)
    members = list(integration.account.members)
    try:
        result = bindings.bulk_link(integration, members)
    except LarkError as error:
        db.session.rollback()
        flash(integrations.lark_error_words(error), "error")
    else:
        flash(result.summary())
        for member, reason in result.not_found:
            flash(f"{member.name}: {reason}", "warning")
    return redirect(url_for("admin.integration_detail", integration_id=integration.id), 303)


# -- license ---------------------------------------------------------------------------


def _license_context() -> dict[str, Any]:
    me = _me()
    return {
        "usage": licensing.usage(me.account),
        "refusals": licensing.recent_refusals(me.account) if me.is_admin else [],
        "admins": licensing.admins_of(me.account),
        "me": me,
        "months": paging_budget.months_of(me.account_id, utcnow()) if me.is_admin else [],
    }


@bp.get("/license")
def license_page() -> ResponseReturnValue:
    template = "admin/_seats.html" if _is_htmx() else "admin/license.html"
    return _page(template, **_license_context())


# The card callback's "fix" redirect (webapp/views/card.py) looks for `admin.license`.
bp.add_url_rule("/license", "license", license_page, methods=["GET"])


def _seat_member(admin: Member) -> Member:
    return account_row(Member, request.form.get("member_id", ""), admin.account_id)


@bp.post("/license/<action>")
def license_change(action: str) -> ResponseReturnValue:
    admin = _admin()
    member = _seat_member(admin)
    if action not in ("assign", "release"):
        abort(404)
    try:
        if action == "assign":
            licensing.assign(admin.account, member)
            message, kind = _("%(name)s now holds a seat.", name=member.name), "success"
        else:
            licensing.release(admin.account, member)
            message, kind = _("%(name)s's seat was released.", name=member.name), "success"
    except licensing.LicenseError as error:
        message, kind = str(error), "error"
    if _is_htmx():
        status = 409 if kind == "error" else 200
        return _toast(_page("admin/_seats.html", status, **_license_context()), message, kind)
    flash(message, kind)
    return redirect(url_for("admin.license_page"), 303)


# -- diagnostics -----------------------------------------------------------------------


@bp.get("/incidents/<int:number>/delivery")
def incident_delivery(number: int) -> ResponseReturnValue:
    """Who was told about one incident of the admin's account, and its timeline."""
    me = _admin()
    incident = incident_lookup.detail(me, number)
    if incident is None:
        abort(404)
    return _page(
        "admin/incident_delivery.html",
        incident=incident,
        told=outbox_outcomes.who_was_told(incident),
        now=utcnow(),
    )


@bp.get("/diagnostics")
def diagnostics_page() -> ResponseReturnValue:
    me = _me()
    items = [i for i in integrations.of_account(me.account_id)]
    if me.is_admin:
        return _page(
            "admin/diagnostics.html",
            account_checks=diagnostics.account_checks(me.account),
            reports=[diagnostics.report(i) for i in items],
            mine=None,
        )
    mine = [
        (i, diagnostics.member_status(i, me), diagnostics.recent_failures(i, me, limit=10))
        for i in items
        if i.enabled
    ]
    return _page("admin/diagnostics.html", account_checks=[], reports=[], mine=mine)
