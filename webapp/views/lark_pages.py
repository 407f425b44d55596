"""License and diagnostics as a member sees them from the Lark homepage, inside the web
app's shell (its top bar, the phone's bottom bar, the way back to the incidents).

The admin pages (/admin/license, /admin/diagnostics) stay the admin's; these show the
signed-in member their own seat and their own delivery state for this integration, and an
admin finds the link to the full admin page here.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, make_response, render_template
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime

from webapp.diagnostics import report as diagnostics
from webapp.identity import licensing
from webapp.views.lark_context import lark_member_required

bp = Blueprint("lark_pages", __name__, url_prefix="/lark/<key>")


def _page(template: str, **context: Any) -> ResponseReturnValue:
    response = make_response(render_template(template, **context))
    response.headers["Vary"] = "HX-Request"
    return response


@bp.get("/license")
@lark_member_required
def license(key: str) -> ResponseReturnValue:
    me = g.lark.member
    return _page(
        "lark/license.html",
        usage=licensing.usage(me.account),
        admins=licensing.admins_of(me.account),
        me=me,
    )


@bp.get("/diagnostics")
@lark_member_required
def diagnostics_page(key: str) -> ResponseReturnValue:
    integration, me = g.lark.integration, g.lark.member
    return _page(
        "lark/diagnostics.html",
        integration=integration,
        status=diagnostics.member_status(integration, me),
        failures=diagnostics.recent_failures(integration, me, limit=10),
        admins=licensing.admins_of(me.account),
        admin_me=me,
        format_when=lambda when: format_datetime(when, "short"),
    )
