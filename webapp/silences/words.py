"""How silences read to people: lengths, the line on a card or page, toasts, timeline lines."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from webapp.models import Incident, Silence
from webapp.silences import quick


def span(minutes: int) -> str:
    """ "1 h", "8 h", "1 day": a silence length as buttons write it."""
    if minutes >= 1440 and minutes % 1440 == 0:
        return _("%(n)s day", n=minutes // 1440)
    return _("%(n)s h", n=minutes // 60)


def held_line(silence: Silence, until: str) -> str:
    """Why nobody is paged about the incident, and until when."""
    if silence.window is not None:
        return _("In maintenance (%(name)s) until %(when)s", name=silence.window.name, when=until)
    if silence.comment:
        return _(
            "Silenced until %(when)s by %(who)s: %(why)s",
            when=until,
            who=silence.created_by,
            why=silence.comment,
        )
    return _("Silenced until %(when)s by %(who)s", when=until, who=silence.created_by)


def done(incident: Incident) -> str:
    """The toast after "Silence…" on the card or the page."""
    made = quick.made_from(incident)
    if made is None:
        return _("Incident #%(n)s silenced.", n=incident.number)
    return _(
        "Alerts like incident #%(n)s are silenced until %(when)s UTC.",
        n=incident.number,
        when=made.ends_at.strftime("%Y-%m-%d %H:%M"),
    )


def timeline(kind: str, details: dict[str, Any]) -> str | None:
    """The detail words of a silence's timeline line, or None for other kinds."""
    matchers = ", ".join(details.get("matchers") or [])
    if kind == "silenced":
        if details.get("window"):
            return _("Maintenance window %(name)s began", name=details["window"])
        return _(
            "Silenced by %(who)s (%(matchers)s): %(why)s",
            who=details.get("by", ""),
            matchers=matchers,
            why=details.get("comment", ""),
        )
    if kind == "unsilenced":
        if details.get("paged"):
            return _("The silence ended; paged now")
        return _("The silence ended; nobody paged (acknowledged, or the window does not page)")
    if kind == "silence_changed":
        return _(
            "The silence now lasts until %(when)s",
            when=str(details.get("until", ""))[:16].replace("T", " "),
        )
    return None
