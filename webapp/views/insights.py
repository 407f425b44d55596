"""The account insights page (/admin/insights) and the "My week" box of the Lark homepage."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from webapp.extensions import db
from webapp.insights import charts, queries
from webapp.insights.words import duration
from webapp.models import Channel, Member, Severity, utcnow
from webapp.views.access import account_row, signed_in_admin

bp = Blueprint("insights", __name__, url_prefix="/admin/insights")


bp.before_request(signed_in_admin)


@bp.context_processor
def _admin_shell() -> dict[str, Any]:
    return {"admin_me": current_user, "dispatch_url": None}


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"duration": duration, "my_week": _my_week}


def _my_week() -> queries.MyWeek | None:
    lark = getattr(g, "lark", None)
    member = getattr(lark, "member", None)
    return queries.my_week(member, utcnow()) if isinstance(member, Member) else None


def _days() -> tuple[int, str | None]:
    """The chosen period, or the default one with the words that say why."""
    raw = request.args.get("days", "7")
    if raw.isdigit() and int(raw) in queries.PERIODS:
        return int(raw), None
    return 7, _("Choose a period of 7, 30 or 90 days.")


def _channel(account_id: int) -> Channel | None:
    raw = request.args.get("channel", "")
    if not raw:
        return None
    return account_row(Channel, raw, account_id)


def _charts(found: queries.Insights) -> dict[str, Markup]:
    days = list(found.per_day)
    labels = [format_date(d, "MM-dd") for d in days]
    names = {
        Severity.CRITICAL: _("Critical"),
        Severity.WARNING: _("Warning"),
        Severity.INFO: _("Info"),
    }
    series = [charts.Series(names[s], [found.per_day[d][s] for d in days]) for s in Severity]
    sources = source_labels()
    return {
        "per_day": charts.stacked_bars(
            "chart-per-day",
            _("Incidents per day by severity"),
            _(
                "%(n)d incidents in %(days)d days; the table below lists every day.",
                n=found.total,
                days=found.scope.period.days,
            ),
            labels,
            series,
        ),
        "sources": charts.horizontal_bars(
            "chart-sources",
            _("Acknowledged from"),
            _("How many acknowledgements came from each place."),
            [(sources[k], found.sources.get(k, 0)) for k in sources],
        ),
    }


def source_labels() -> dict[str, str]:
    return {"card": _("Lark card"), "web": _("Web"), "api": _("API")}


@bp.get("/")
def page() -> ResponseReturnValue:
    me: Member = current_user._get_current_object()
    days, error = _days()
    channel = _channel(me.account_id)
    found = queries.insights(me.account_id, days, utcnow(), channel.id if channel else None)
    channels = db.session.scalars(
        db.select(Channel).where(Channel.account_id == me.account_id).order_by(Channel.name)
    ).all()
    return render_template(
        "insights/page.html",
        found=found,
        days=days,
        periods=queries.PERIODS,
        channel=channel,
        channels=channels,
        charts=_charts(found) if found.total else {},
        sources=source_labels(),
        severities=list(Severity),
        error=error,
    ), (400 if error else 200)
