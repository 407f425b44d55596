"""Notification rules pages: a member's own (/lark/<key>/paging, from the web app's menu,
with "send me a test buzz") and the account's defaults with the buzz budget (/admin/paging,
admins only). Both forms carry the CSRF token; a rule that cannot be kept changes nothing
and says what to change."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp.lark.errors import fix
from webapp.models import DeliveryStatus, Member, utcnow
from webapp.paging import budget, rules, trial
from webapp.paging.words import rule_words
from webapp.views.lark_context import lark_member_required

bp = Blueprint("paging", __name__)


def _form_context(ladders: dict[str, rules.Ladder]) -> dict[str, Any]:
    first = next(iter(ladders.values()))
    return {
        "ladders": {s: rules.as_form(ladder) for s, ladder in ladders.items()},
        "sources": {s: rule_words(ladder.source) for s, ladder in ladders.items()},
        "quiet_start": rules.as_form(first)["quiet_start"],
        "quiet_end": rules.as_form(first)["quiet_end"],
        "vias": [(v, str(rules.VIA_WORDS[v])) for v in rules.VIAS],
        "max_steps": rules.MAX_STEPS,
    }


# -- a member's own rules, inside the Lark web app ----------------------------------------


@bp.get("/lark/<key>/paging")
@lark_member_required
def mine(key: str) -> ResponseReturnValue:
    return _mine_page()


def _mine_page(error: str | None = None, status: int = 200) -> ResponseReturnValue:
    member: Member = g.lark.member
    ladders = rules.member_ladders(member)
    own = any(ladder.source == "own" for ladder in ladders.values())
    test = trial.last_test(member, g.lark.integration)
    page = render_template(
        "lark/paging.html",
        own=own,
        error=error,
        test=test,
        test_fix=fix(test.reason) if test is not None and test.reason else "",
        test_rang=test is not None and test.status is DeliveryStatus.DELIVERED,
        test_failed=test is not None and test.status is DeliveryStatus.FAILED,
        **_form_context(ladders),
    )
    return page, status


@bp.post("/lark/<key>/paging")
@lark_member_required
def save_mine(key: str) -> ResponseReturnValue:
    try:
        ladders, window = rules.read_form(request.form)
    except rules.RuleError as error:
        return _mine_page(str(error), 422)
    rules.save_all(g.lark.member.account_id, g.lark.member, ladders, window)
    flash(_("Saved. Your rules apply to the next incident you are told about."), "success")
    return redirect(url_for(".mine", key=key), 303)


@bp.post("/lark/<key>/paging/reset")
@lark_member_required
def reset_mine(key: str) -> ResponseReturnValue:
    rules.forget_own(g.lark.member)
    flash(_("You follow the account's default rules again."), "success")
    return redirect(url_for(".mine", key=key), 303)


@bp.post("/lark/<key>/paging/test")
@lark_member_required
def test_buzz(key: str) -> ResponseReturnValue:
    try:
        trial.request_test_buzz(g.lark.member, g.lark.integration)
    except trial.NotLinked:
        flash(_("Your Lark user is not linked: open the app from the Lark workbench."), "error")
    else:
        flash(_("A test card is on its way to you in Lark; it buzzes in a few seconds."), "success")
    return redirect(url_for(".mine", key=key), 303)


# -- the account's defaults and the buzz budget, for admins -------------------------------


def _admin() -> Member:
    member: Member = current_user._get_current_object()
    if not member.is_admin:
        abort(403)
    return member


@bp.get("/admin/paging")
@login_required
def defaults() -> ResponseReturnValue:
    return _defaults_page(_admin())


def _defaults_page(
    admin: Member, error: str | None = None, status: int = 200
) -> ResponseReturnValue:
    page = render_template(
        "admin/paging.html",
        admin_me=admin,
        error=error,
        reserve=rules.settings_of(admin.account_id).reserve_phone_for_critical,
        months=budget.months_of(admin.account_id, utcnow()),
        **_form_context(rules.account_ladders(admin.account_id)),
    )
    return page, status


@bp.post("/admin/paging")
@login_required
def save_defaults() -> ResponseReturnValue:
    admin = _admin()
    try:
        ladders, window = rules.read_form(request.form)
    except rules.RuleError as error:
        return _defaults_page(admin, str(error), 422)
    rules.reserve_phone(admin.account_id, bool(request.form.get("reserve_phone")))
    rules.save_all(admin.account_id, None, ladders, window)
    flash(_("Saved. Members without rules of their own follow these."), "success")
    return redirect(url_for(".defaults"), 303)
