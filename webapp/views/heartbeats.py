"""Heartbeats in the admin (/admin/heartbeats): list, create, edit, pause, delete, each with
its ping URL; the Alertmanager Watchdog recipe is on the alert sources page."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from webapp.extensions import db
from webapp.heartbeats import service as heartbeats
from webapp.i18n import ago
from webapp.models import Channel, Heartbeat, utcnow
from webapp.views.access import account_row, signed_in_admin
from webapp.views.admin_pages import page

bp = Blueprint("heartbeats", __name__, url_prefix="/admin/heartbeats")
bp.before_request(signed_in_admin)


@bp.context_processor
def _admin_shell() -> dict[str, Any]:
    return {
        "admin_me": current_user,
        "dispatch_url": None,
        "format_ago": ago,
        "ping_url": heartbeats.ping_url,
        "now": utcnow(),
    }


def _heartbeat(heartbeat_id: int) -> Heartbeat:
    return account_row(Heartbeat, heartbeat_id)


def _page(template: str, status: int = 200, **context: Any) -> Response:
    channels = db.session.scalars(
        select(Channel).where(Channel.account_id == current_user.account_id).order_by(Channel.name)
    ).all()
    return page(template, status, channels=channels, **context)


def _number(name: str) -> int:
    raw = request.form.get(name, "").strip()
    return int(raw) if raw.isdigit() else -1


def _form() -> dict[str, Any]:
    return {
        "name": request.form.get("name", ""),
        "channel_id": _number("channel_id"),
        "period": request.form.get("period", ""),
        "grace": request.form.get("grace", ""),
    }


def _settings() -> heartbeats.Settings:
    return heartbeats.checked(
        current_user.account_id,
        request.form.get("name", ""),
        _number("channel_id"),
        _number("period"),
        _number("grace"),
    )


def _to_list() -> ResponseReturnValue:
    return redirect(url_for("heartbeats.heartbeats_list"), 303)


@bp.get("")
def heartbeats_list() -> ResponseReturnValue:
    return _page("admin/heartbeats.html", heartbeats=heartbeats.of_account(current_user.account_id))


@bp.route("/new", methods=["GET", "POST"])
def heartbeat_new() -> ResponseReturnValue:
    if request.method == "GET":
        data = {"name": "", "channel_id": None, "period": 5, "grace": 5}
        return _page("admin/heartbeat_form.html", heartbeat=None, data=data, errors={})
    try:
        settings = _settings()
    except heartbeats.InvalidHeartbeat as exc:
        errors = {exc.field: str(exc)}
        return _page("admin/heartbeat_form.html", 400, heartbeat=None, data=_form(), errors=errors)
    heartbeat = heartbeats.create(current_user.account_id, settings)
    flash(_("Heartbeat saved. Have your job call its ping URL at least every period."))
    return redirect(url_for("heartbeats.heartbeat_detail", heartbeat_id=heartbeat.id), 303)


@bp.get("/<int:heartbeat_id>")
def heartbeat_detail(heartbeat_id: int) -> ResponseReturnValue:
    heartbeat = _heartbeat(heartbeat_id)
    data = {
        "name": heartbeat.name,
        "channel_id": heartbeat.channel_id,
        "period": heartbeat.period_s // 60,
        "grace": heartbeat.grace_s // 60,
    }
    return _page("admin/heartbeat_form.html", heartbeat=heartbeat, data=data, errors={})


@bp.post("/<int:heartbeat_id>")
def heartbeat_edit(heartbeat_id: int) -> ResponseReturnValue:
    heartbeat = _heartbeat(heartbeat_id)
    try:
        settings = _settings()
    except heartbeats.InvalidHeartbeat as exc:
        errors = {exc.field: str(exc)}
        return _page(
            "admin/heartbeat_form.html", 400, heartbeat=heartbeat, data=_form(), errors=errors
        )
    heartbeats.edit(heartbeat, settings)
    flash(_("Changes saved."))
    return _to_list()


@bp.post("/<int:heartbeat_id>/pause")
def heartbeat_pause(heartbeat_id: int) -> ResponseReturnValue:
    heartbeats.pause(_heartbeat(heartbeat_id))
    flash(_("Paused: its silence opens no incident until you resume it."))
    return _to_list()


@bp.post("/<int:heartbeat_id>/resume")
def heartbeat_resume(heartbeat_id: int) -> ResponseReturnValue:
    heartbeats.resume(_heartbeat(heartbeat_id))
    flash(_("Resumed: the period counts from now."))
    return _to_list()


@bp.route("/<int:heartbeat_id>/delete", methods=["GET", "POST"])
def heartbeat_delete(heartbeat_id: int) -> ResponseReturnValue:
    heartbeat = _heartbeat(heartbeat_id)
    if request.method == "GET" or request.form.get("confirm") != "delete":
        return _page("admin/heartbeat_delete.html", heartbeat=heartbeat)
    name = heartbeat.name
    heartbeats.delete(heartbeat)
    flash(_("Heartbeat “%(name)s” deleted; its ping URL now answers 404.", name=name))
    return _to_list()
