"""The member's own settings inside the Lark web app (their time zone), and the banner that
tells a member without a license seat why their buttons are disabled and whom to ask."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from webapp import i18n
from webapp.identity import licensing, timezones
from webapp.models import utcnow
from webapp.views.lark_context import lark_member_required

bp = Blueprint("lark_settings", __name__, url_prefix="/lark/<key>/settings")


def license_url() -> str | None:
    """The License page inside the web app, for the banner."""
    lark = g.get("lark")
    return url_for("lark_pages.license", key=lark.integration.key) if lark else None


@bp.app_template_global()
def lark_seat_notice() -> dict[str, Any] | None:
    """For a member without a seat: the admins to ask and the License page; else None."""
    lark = g.get("lark")
    if lark is None or lark.member.has_seat:
        return None
    admins = licensing.admins_of(lark.member.account)
    return {"admins": ", ".join(m.name for m in admins), "url": license_url()}


def _zones() -> list[tuple[str, str]]:
    now = utcnow()
    return [
        (name, f"{name} ({i18n.offset_label(now, ZoneInfo(name))})") for name in timezones.CHOICES
    ]


@bp.get("", endpoint="page")
@lark_member_required
def settings_page(key: str) -> ResponseReturnValue:
    member = g.lark.member
    client = member.client_timezone if timezones.valid(member.client_timezone) else None
    return render_template(
        "lark/settings.html",
        zones=_zones(),
        chosen=member.timezone or "",
        client=client,
        fallback=timezones.default_name(g.lark.integration),
        in_use=timezones.name_for(member, g.lark.integration),
    )


@bp.post("", endpoint="save")
@lark_member_required
def settings_save(key: str) -> ResponseReturnValue:
    chosen = request.form.get("timezone", "")
    if chosen and not timezones.valid(chosen):
        flash(_("Unknown time zone “%(name)s”: choose one from the list.", name=chosen), "error")
        return redirect(url_for(".page"), 303)
    timezones.choose(g.lark.member, chosen or None)
    flash(
        _(
            "Saved. Times now show in %(zone)s.",
            zone=timezones.name_for(g.lark.member, g.lark.integration),
        ),
        "success",
    )
    return redirect(url_for(".page"), 303)
