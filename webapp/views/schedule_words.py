"""What the schedule templates write: a layer or override as its form's fields, a cover
request's span, who a timeline line notified, the signed-in member's on-call summary."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from webapp.models import CoverRequest, Member, ScheduleLayer, ScheduleOverride, utcnow
from webapp.schedules import cards, views_model


def oncall_summary(member: Member) -> views_model.Summary:
    return views_model.summary(member, utcnow())


def cover_span(request: CoverRequest) -> str:
    locale = get_locale()
    language = locale.language if locale is not None else "en"
    return cards.span(request.starts_at, request.ends_at, request.schedule.timezone, language)


def layer_values(layer: ScheduleLayer) -> MultiDict[str, str]:
    """A layer as its edit form's fields."""
    r = layer.restriction or {}
    values: list[tuple[str, str]] = [
        ("name", layer.name),
        ("kind", layer.shift_kind),
        ("hours", str(layer.shift_hours)),
        ("weekday", str(layer.handoff_weekday)),
        ("handoff", f"{layer.handoff_minute // 60:02d}:{layer.handoff_minute % 60:02d}"),
        ("timezone", layer.timezone),
        ("start", layer.rotation_start.isoformat()),
        (
            "restrict_from",
            f"{int(r.get('start', 540)) // 60:02d}:{int(r.get('start', 540)) % 60:02d}",
        ),
        ("restrict_to", f"{int(r.get('end', 1080)) // 60:02d}:{int(r.get('end', 1080)) % 60:02d}"),
    ]
    values += [("member_ids", str(m)) for m in layer.member_ids]
    values += [("restrict_weekdays", str(d)) for d in r.get("weekdays", [])]
    return MultiDict(values)


def override_values(override: ScheduleOverride, tz: str) -> MultiDict[str, str]:
    zone = ZoneInfo(tz)
    return MultiDict(
        [
            ("member_id", str(override.member_id)),
            ("start", f"{override.starts_at.astimezone(zone):%Y-%m-%dT%H:%M}"),
            ("end", f"{override.ends_at.astimezone(zone):%Y-%m-%dT%H:%M}"),
        ]
    )


_LEGACY_LABEL = re.compile(r"(.+) \(on call in (.+)\)")


def notified_target(details: dict[str, Any]) -> str:
    """ "to Han Meimei (on call in Core Platform primary)" in the reader's language. Older
    timeline lines stored that sentence in English; they are read back into its parts."""
    name, schedule = str(details.get("target") or ""), details.get("on_call_in")
    if not schedule and (legacy := _LEGACY_LABEL.fullmatch(name)):
        name, schedule = legacy.group(1), legacy.group(2)
    if schedule:
        return _("to %(target)s (on call in %(schedule)s)", target=name, schedule=schedule)
    return _("to %(target)s", target=name)


def init_app(app: Flask) -> None:
    app.jinja_env.globals["notified_target"] = notified_target
    app.jinja_env.globals["layer_values"] = layer_values
    app.jinja_env.globals["override_values"] = override_values
    app.jinja_env.filters["cover_span"] = cover_span
    app.jinja_env.filters["utc_offset"] = lambda at, tz: cards.utc_offset(ZoneInfo(tz), at)
    app.jinja_env.globals["oncall_summary"] = oncall_summary
    app.jinja_env.filters["tz"] = ZoneInfo
