"""Alert sources in the admin: each one's intake URL, its kind, and the steps in that tool."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from webapp.extensions import db
from webapp.intake import sources as alert_sources
from webapp.intake.parsers import KINDS
from webapp.models import AlertSource
from webapp.views.access import account_row, signed_in_admin

bp = Blueprint("sources", __name__, url_prefix="/admin/sources")
bp.before_request(signed_in_admin)


@bp.context_processor
def _admin_shell() -> dict[str, Any]:
    return {"admin_me": current_user, "dispatch_url": None}


def kind_labels() -> dict[str, str]:
    """The kinds in the order shown; the tools' own names are not translated."""
    return {k: _("Generic JSON") if k == "generic" else v for k, v in KINDS.items()}


def _source(source_id: int) -> AlertSource:
    return account_row(AlertSource, source_id)


@bp.get("/")
def sources_list() -> ResponseReturnValue:
    found = db.session.scalars(
        select(AlertSource)
        .where(AlertSource.account_id == current_user.account_id)
        .order_by(AlertSource.name, AlertSource.id)
    ).all()
    return render_template(
        "admin/sources.html",
        sources=found,
        kinds=kind_labels(),
        urls={s.id: alert_sources.intake_url(s) for s in found},
    )


def _detail(source: AlertSource, error: str | None = None, status: int = 200) -> Any:
    url = alert_sources.intake_url(source)
    response = make_response(
        render_template(
            "admin/source.html",
            source=source,
            kinds=kind_labels(),
            url=url,
            command=alert_sources.test_command(source.kind, url),
            error=error,
        ),
        status,
    )
    response.headers["Vary"] = "HX-Request"
    return response


@bp.get("/<int:source_id>")
def source_detail(source_id: int) -> ResponseReturnValue:
    return _detail(_source(source_id))


@bp.post("/<int:source_id>/kind")
def source_kind(source_id: int) -> ResponseReturnValue:
    source = _source(source_id)
    kind = request.form.get("kind", "")
    try:
        alert_sources.choose_kind(source, kind)
    except alert_sources.UnknownKind:
        words = ", ".join(kind_labels().values())
        return _detail(source, _("Choose one of: %(kinds)s.", kinds=words), 400)
    flash(_("Saved: this intake now reads %(kind)s alerts.", kind=kind_labels()[kind]))
    return redirect(url_for("sources.source_detail", source_id=source.id), 303)
