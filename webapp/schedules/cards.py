"""The schedules' Lark cards (JSON 2.0): a cover request, a shift reminder, a handoff post.

Times are shown in the schedule's own time zone, with its UTC offset written out ("UTC+8"),
since everyone in a rotation reads the same shift. Names and titles people typed go in
`plain_text`, never markdown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _

from webapp.cardkit import parts
from webapp.models import CoverRequest, Incident, Schedule

COVER_ACTION = "cover"  # the button value's "a"; incident actions are webapp/cards/actions.py
MAX_INCIDENTS = 8


def utc_offset(zone: ZoneInfo, at: datetime) -> str:
    """ "UTC+8", "UTC-4", "UTC+5:30": the offset of `zone` at `at`."""
    offset = at.astimezone(zone).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def span(start: datetime, end: datetime, tz: str, locale: str) -> str:
    """ "Sat 09:00–21:00 (UTC+8)", or "Sat 09:00 – Sun 09:00 (UTC+8)" across days."""
    zone = ZoneInfo(tz)
    lo, hi = start.astimezone(zone), end.astimezone(zone)
    babel_locale = "zh_Hans_CN" if locale == "zh" else "en"
    first = format_datetime(lo, "EEE HH:mm", tzinfo=zone, locale=babel_locale)
    if lo.date() == hi.date():
        second = f"{hi:%H:%M}"
        joined = f"{first}–{second}"
    else:
        second = format_datetime(hi, "EEE HH:mm", tzinfo=zone, locale=babel_locale)
        joined = f"{first} – {second}"
    return f"{joined} ({utc_offset(zone, lo)})"


def _dates(start: datetime, end: datetime, tz: str) -> str:
    zone = ZoneInfo(tz)
    lo, hi = start.astimezone(zone).date(), end.astimezone(zone).date()
    return f"{lo:%Y-%m-%d}" if lo == hi else f"{lo:%Y-%m-%d} – {hi:%Y-%m-%d}"


def cover_value(request: CoverRequest) -> dict[str, Any]:
    return {"a": COVER_ACTION, "r": request.id}


def cover_card(request: CoverRequest, *, locale: str, page_url: str) -> dict[str, Any]:
    """Open: "<name> needs cover <span>" and "I'll cover". Taken: who covers it; withdrawn:
    that the asker withdrew it; neither has the button."""
    schedule = request.schedule
    with force_locale(locale):
        when = span(request.starts_at, request.ends_at, schedule.timezone, locale)
        facts = _(
            "Schedule: %(name)s · %(dates)s",
            name=schedule.name,
            dates=_dates(request.starts_at, request.ends_at, schedule.timezone),
        )
        tag = None
        if request.withdrawn_at is not None:
            title = _(
                "%(name)s withdrew the request for cover %(when)s",
                name=request.member.name,
                when=when,
            )
            action = None
            colour, tag, state = "grey", "neutral", _("Withdrawn")
        elif request.covered_by is None:
            title = _("%(name)s needs cover %(when)s", name=request.member.name, when=when)
            action = parts.button(_("I'll cover"), "primary_filled", cover_value(request))
            colour, state = "orange", _("Needs cover")
        else:
            title = _(
                "%(taker)s covers %(name)s %(when)s",
                taker=request.covered_by.name,
                name=request.member.name,
                when=when,
            )
            action = None
            colour, state = "green", _("Covered")
        buttons = [b for b in (action, parts.link_button(_("Open the schedule"), page_url)) if b]
        elements = [_text(facts), {"tag": "hr"}, parts.row(buttons)]
        return _card(title, colour, state, elements, tag=tag)


@dataclass(frozen=True)
class ReminderView:
    schedule: Schedule
    start: datetime
    end: datetime
    minutes: int
    incidents: list[Incident]


def reminder_card(view: ReminderView, *, locale: str, page_url: str) -> dict[str, Any]:
    """ "Your on-call shift starts in 30 minutes", the shift, and the open incidents inherited."""
    schedule = view.schedule
    with force_locale(locale):
        title = (
            ngettext(
                "Your on-call shift starts in %(num)s minute",
                "Your on-call shift starts in %(num)s minutes",
                view.minutes,
            )
            if view.minutes > 0
            else _("Your on-call shift has started")
        )
        lines = [
            _("Schedule: %(name)s", name=schedule.name),
            _("Shift: %(when)s", when=span(view.start, view.end, schedule.timezone, locale)),
        ]
        elements = [_text("\n".join(lines))]
        if view.incidents:
            heading = _("Open incidents you take over (%(n)s):", n=len(view.incidents))
            rows = [f"#{i.number} {i.title[:120]}" for i in view.incidents[:MAX_INCIDENTS]]
            if len(view.incidents) > MAX_INCIDENTS:
                rows.append(_("and %(n)s more", n=len(view.incidents) - MAX_INCIDENTS))
            elements.append(_text("\n".join([heading, *rows])))
        else:
            elements.append(_text(_("No open incidents: a quiet handoff."), grey=True))
        elements += [
            {"tag": "hr"},
            parts.row([parts.link_button(_("Open the schedule"), page_url)]),
        ]
        return _card(title, "blue", _("On call soon"), elements)


def handoff_card(
    schedule: Schedule, name: str, start: datetime, end: datetime, *, locale: str, page_url: str
) -> dict[str, Any]:
    """The group post at a handoff: who is on call now, and until when."""
    week = end - start >= timedelta(days=6)
    with force_locale(locale):
        title = _("On call this week") if week else _("On call now")
        line = _(
            "%(name)s is on call in %(schedule)s: %(when)s",
            name=name,
            schedule=schedule.name,
            when=span(start, end, schedule.timezone, locale),
        )
        elements = [
            _text(line),
            {"tag": "hr"},
            parts.row([parts.link_button(_("Open the schedule"), page_url)]),
        ]
        return _card(f"{title} · {schedule.name}", "turquoise", _("Handoff"), elements)


# -- components (the same shapes as the incident card's, webapp/cards/render.py) -----------


def _card(
    title: str,
    colour: str,
    state: str,
    elements: list[dict[str, Any]],
    tag: str | None = None,
) -> dict[str, Any]:
    """`colour` is the header's template; the state's tag takes it too unless `tag` is given
    (Lark's tags have no "grey": theirs is "neutral")."""
    return {
        "schema": "2.0",
        "config": {"update_multi": True, "summary": {"content": title}},
        "header": {
            "title": {"tag": "plain_text", "content": title},
            "text_tag_list": [
                {
                    "tag": "text_tag",
                    "text": {"tag": "plain_text", "content": state},
                    "color": tag or colour,
                }
            ],
            "template": colour,
        },
        "body": {"elements": elements},
    }


def _text(content: str, grey: bool = False) -> dict[str, Any]:
    text: dict[str, Any] = {"tag": "plain_text", "content": content}
    if grey:
        text["text_color"] = "grey"
    return {"tag": "div", "text": text}
