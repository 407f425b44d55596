"""The web app's "New incident" page (/lark/<key>/incidents/new): declare one by hand."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from webapp.incidents import declaring, lookup
from webapp.models import Member, Severity
from webapp.views.lark_context import lark_member_required

bp = Blueprint("declare", __name__, url_prefix="/lark/<key>/incidents/new")


def _member() -> Member:
    member: Member = g.lark.member
    return member


def _page(member: Member, status: int = 200, **context: Any) -> ResponseReturnValue:
    context.setdefault("form", declaring.Declaration("", Severity.WARNING.value, "", "", []))
    page = render_template(
        "incidents/new.html",
        channels=declaring.channels_for(member),
        people=lookup.assignable(member),
        severities=[s.value for s in Severity],
        errors=context.pop("errors", {}),
        **context,
    )
    return page, status, {"Vary": "HX-Request"}


@bp.get("", endpoint="form")
@lark_member_required
def form(key: str) -> ResponseReturnValue:
    return _page(_member())


@bp.post("", endpoint="submit")
@lark_member_required
def submit(key: str) -> ResponseReturnValue:
    member = _member()
    typed = declaring.Declaration(
        title=request.form.get("title", ""),
        severity=request.form.get("severity", ""),
        description=request.form.get("description", ""),
        channel_id=request.form.get("channel_id", ""),
        assignee_ids=request.form.getlist("assignee_id"),
    )
    try:
        incident = declaring.declare(member, typed)
    except declaring.DeclarationInvalid as invalid:
        return _page(member, 422, form=typed, errors=invalid.errors)
    flash(_("Incident #%(n)s declared.", n=incident.number), "success")
    return redirect(url_for("incidents_web.detail", number=incident.number), 303)
