"""Webhook endpoints in the admin (/admin/webhooks): list, create, edit, pause, delete, the
signing secret on demand, the delivery log with "send again", and "send a test event"."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
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
from webapp.i18n import ago
from webapp.models import Channel, Delivery, WebhookEndpoint, WebhookEvent
from webapp.views.access import account_row, signed_in_admin
from webapp.views.admin_pages import page
from webapp.webhooks import emit, endpoints

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")
bp.before_request(signed_in_admin)

LOG_ROWS = 50


@bp.context_processor
def _admin_shell() -> dict[str, Any]:
    return {
        "admin_me": current_user,
        "dispatch_url": None,
        "format_ago": ago,
        "disabled_words": endpoints.disabled_words,
    }


def event_labels() -> dict[str, str]:
    return {
        WebhookEvent.TRIGGERED: _("Incident triggered"),
        WebhookEvent.ACKNOWLEDGED: _("Incident acknowledged"),
        WebhookEvent.RESOLVED: _("Incident resolved"),
        WebhookEvent.REOPENED: _("Incident reopened"),
        WebhookEvent.REASSIGNED: _("Incident reassigned"),
        WebhookEvent.COMMENTED: _("Comment added"),
        WebhookEvent.ESCALATED: _("Incident escalated"),
        WebhookEvent.SILENCED: _("Alert silenced"),
        WebhookEvent.STORM: _("Alert storm"),
        WebhookEvent.TEST: _("Test event"),
    }


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    return account_row(WebhookEndpoint, endpoint_id)


def _page(template: str, status: int = 200, **context: Any) -> Response:
    return page(template, status, labels=event_labels(), channels=_channels(), **context)


def _channels() -> list[Channel]:
    return list(
        db.session.scalars(
            select(Channel)
            .where(Channel.account_id == current_user.account_id)
            .order_by(Channel.name)
        )
    )


def _form_settings() -> endpoints.Settings:
    ids = [int(x) for x in request.form.getlist("channel_ids") if x.isdigit()]
    return endpoints.checked(
        current_user.account_id,
        request.form.get("url", ""),
        request.form.get("description", ""),
        request.form.getlist("event_types"),
        ids,
    )


def _form_data() -> dict[str, Any]:
    return {
        "url": request.form.get("url", ""),
        "description": request.form.get("description", ""),
        "event_types": request.form.getlist("event_types"),
        "channel_ids": [int(x) for x in request.form.getlist("channel_ids") if x.isdigit()],
    }


@bp.get("")
def endpoints_list() -> ResponseReturnValue:
    return _page("admin/webhooks.html", endpoints=endpoints.of_account(current_user.account_id))


@bp.route("/new", methods=["GET", "POST"])
def endpoint_new() -> ResponseReturnValue:
    if request.method == "GET":
        empty = {"url": "", "description": "", "event_types": [], "channel_ids": []}
        return _page("admin/webhook_form.html", endpoint=None, data=empty, errors={})
    try:
        settings = _form_settings()
    except endpoints.InvalidEndpoint as exc:
        errors = {exc.field: str(exc)}
        return _page(
            "admin/webhook_form.html", 400, endpoint=None, data=_form_data(), errors=errors
        )
    endpoint = endpoints.create(current_user.account_id, settings)
    flash(_("Endpoint saved. Copy its signing secret now; you can show it again later."))
    return _detail(endpoint, secret=endpoint.secret)


def _detail(endpoint: WebhookEndpoint, status: int = 200, **context: Any) -> Response:
    data = {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
        "channel_ids": endpoint.channel_ids,
    }
    context = {"data": data, "errors": {}, "secret": None, **context}
    response = _page("admin/webhook.html", status, endpoint=endpoint, log=_log(endpoint), **context)
    if context.get("secret"):
        response.headers["Cache-Control"] = "no-store"
    return response


def _log(endpoint: WebhookEndpoint) -> list[Delivery]:
    return list(
        db.session.scalars(
            select(Delivery)
            .where(Delivery.endpoint_id == endpoint.id)
            .order_by(Delivery.id.desc())
            .limit(LOG_ROWS)
        )
    )


@bp.get("/<int:endpoint_id>")
def endpoint_detail(endpoint_id: int) -> ResponseReturnValue:
    return _detail(_endpoint(endpoint_id))


@bp.post("/<int:endpoint_id>")
def endpoint_edit(endpoint_id: int) -> ResponseReturnValue:
    endpoint = _endpoint(endpoint_id)
    try:
        settings = _form_settings()
    except endpoints.InvalidEndpoint as exc:
        return _detail(endpoint, 400, data=_form_data(), errors={exc.field: str(exc)})
    endpoints.edit(endpoint, settings)
    flash(_("Changes saved."))
    return _to_detail(endpoint)


def _to_detail(endpoint: WebhookEndpoint) -> ResponseReturnValue:
    return redirect(url_for("webhooks.endpoint_detail", endpoint_id=endpoint.id), 303)


@bp.get("/<int:endpoint_id>/log")
def endpoint_log(endpoint_id: int) -> ResponseReturnValue:
    endpoint = _endpoint(endpoint_id)
    return _page("admin/_webhook_log.html", endpoint=endpoint, log=_log(endpoint))


@bp.post("/<int:endpoint_id>/secret")
def endpoint_secret(endpoint_id: int) -> ResponseReturnValue:
    endpoint = _endpoint(endpoint_id)
    return _detail(endpoint, secret=endpoint.secret)


@bp.post("/<int:endpoint_id>/pause")
def endpoint_pause(endpoint_id: int) -> ResponseReturnValue:
    endpoint = _endpoint(endpoint_id)
    endpoints.pause(endpoint)
    flash(_("Paused: no events are sent to this endpoint until you turn it back on."))
    return _to_detail(endpoint)


@bp.post("/<int:endpoint_id>/resume")
def endpoint_resume(endpoint_id: int) -> ResponseReturnValue:
    endpoint = _endpoint(endpoint_id)
    endpoints.resume(endpoint)
    flash(_("Turned on: new events are sent again. Send the failed ones again from the log."))
    return _to_detail(endpoint)


def _switched_off(endpoint: WebhookEndpoint) -> ResponseReturnValue | None:
    """Back to the page with a warning when the endpoint is off: nothing is sent to it."""
    if endpoint.enabled:
        return None
    flash(_("Turn the endpoint on first: a paused endpoint is sent nothing."), "warning")
    return _to_detail(endpoint)


@bp.post("/<int:endpoint_id>/test")
def endpoint_test(endpoint_id: int) -> ResponseReturnValue:
    endpoint = _endpoint(endpoint_id)
    if (refused := _switched_off(endpoint)) is not None:
        return refused
    emit.send_test(endpoint)
    flash(_("A test event is on its way; its delivery appears in the log below."))
    return _to_detail(endpoint)


@bp.post("/<int:endpoint_id>/deliveries/<int:row_id>/again")
def delivery_again(endpoint_id: int, row_id: int) -> ResponseReturnValue:
    endpoint = _endpoint(endpoint_id)
    row = db.session.get(Delivery, row_id)
    if row is None or row.endpoint_id != endpoint.id:
        abort(404)
    if (refused := _switched_off(endpoint)) is not None:
        return refused
    emit.send_again(row)
    flash(_("Sent again with the same webhook-id, so a receiver that has it already can skip it."))
    return _to_detail(endpoint)


@bp.route("/<int:endpoint_id>/delete", methods=["GET", "POST"])
def endpoint_delete(endpoint_id: int) -> ResponseReturnValue:
    endpoint = _endpoint(endpoint_id)
    if request.method == "GET" or request.form.get("confirm") != "delete":
        return _page("admin/webhook_delete.html", endpoint=endpoint)
    url = endpoint.url
    endpoints.delete(endpoint)
    flash(_("Endpoint %(url)s deleted with its delivery log.", url=url))
    return redirect(url_for("webhooks.endpoints_list"), 303)
