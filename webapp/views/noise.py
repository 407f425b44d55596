"""A channel's noise reduction (/admin/channels/<id>/noise): grouping, storm thresholds,
inhibition and flapping, with a preview over the channel's alerts of the last 24 hours.

Admins only, behind the same guard as the dispatch pages; another account's channel is 404.
The preview is its own htmx region, redrawn from the form as typed (nothing is saved).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from webapp.intake import settings
from webapp.intake.grouping import GroupRule
from webapp.intake.preview import preview
from webapp.intake.settings import NoiseInput, NoiseInvalid
from webapp.models import Channel, utcnow
from webapp.views.access import account_row, signed_in_admin
from webapp.views.dispatch import _admin_nav

bp = Blueprint("noise", __name__, url_prefix="/admin/channels")
bp.before_request(signed_in_admin)
bp.context_processor(_admin_nav)


@bp.route("/<int:channel_id>/noise", methods=["GET", "POST"])
def edit(channel_id: int) -> ResponseReturnValue:
    channel = account_row(Channel, channel_id)
    errors: dict[str, str] = {}
    data = _input_of(request.form) if request.method == "POST" else settings.input_of(channel)
    if request.method == "POST":
        try:
            settings.save(channel, data)
            flash(_("Noise reduction of %(name)s saved.", name=channel.name), "success")
            return redirect(url_for("noise.edit", channel_id=channel.id), 303)
        except NoiseInvalid as exc:
            errors = exc.errors
    page = render_template(
        "dispatch/noise.html", channel=channel, data=data, errors=errors, **_preview(channel, data)
    )
    return page, 422 if errors else 200, {"Vary": "HX-Request"}


@bp.post("/<int:channel_id>/noise/preview")
def preview_region(channel_id: int) -> ResponseReturnValue:
    """The preview of the form as typed; a plain post (no htmx) goes back to the page."""
    channel = account_row(Channel, channel_id)
    if not request.headers.get("HX-Request"):
        return redirect(url_for("noise.edit", channel_id=channel.id), 303)
    context = _preview(channel, _input_of(request.form))
    return (
        render_template("dispatch/_noise_preview.html", channel=channel, **context),
        200,
        {"Vary": "HX-Request"},
    )


def _preview(channel: Channel, data: NoiseInput) -> dict[str, Any]:
    """The preview's figures, or why it cannot be drawn from what is typed."""
    try:
        values = settings.checked(data)
    except NoiseInvalid:
        return {"preview": None}
    rule = None
    if values["group_by"]:
        rule = GroupRule(
            tuple(values["group_by"]),
            timedelta(minutes=values["group_window_minutes"]),
            values["group_missing"],
        )
    return {"preview": preview(channel.id, rule, utcnow()), "grouping_on": rule is not None}


def _input_of(form: MultiDict[str, str]) -> NoiseInput:
    return NoiseInput(
        group_labels=form.get("group_labels", ""),
        window_minutes=form.get("window_minutes", ""),
        group_missing=bool(form.get("group_missing")),
        close_when_recovered=bool(form.get("close_when_recovered")),
        storm_thresholds=form.get("storm_thresholds", ""),
        inhibitions=form.get("inhibitions", ""),
        flap_enabled=bool(form.get("flap_enabled")),
        flap_changes=form.get("flap_changes", ""),
        flap_minutes=form.get("flap_minutes", ""),
        flap_mute_minutes=form.get("flap_mute_minutes", ""),
    )
