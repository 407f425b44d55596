"""How the insights figures are said, on the page and on the weekly digest card."""

from __future__ import annotations

from flask_babel import gettext as _


def duration(seconds: int | None) -> str:
    """ "45 s", "12 min", "1 h 5 min"; a dash when there is nothing to measure."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return _("%(n)d s", n=seconds)
    minutes = round(seconds / 60)
    if minutes < 60:
        return _("%(n)d min", n=minutes)
    return _("%(h)d h %(m)d min", h=minutes // 60, m=minutes % 60)
