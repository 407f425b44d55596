"""The incident list's rows, each drawn once for what it shows.

When a refresh finds the list changed, it redraws all of it, yet almost every row reads as
it did 15 seconds before. A row's HTML is a function of: its plain row (every column it
draws: webapp/incidents/rows.py), how old it reads, whether it is snoozed now, the language,
the time zone and its offset, whether the member has a seat (the buttons' refusal), and the
list's URL. Each process keeps the HTML of the rows it drew under exactly that key, bounded;
a key that differs in any of them draws the row anew from `incidents/_row.html`.

In debug mode (`FLASK_DEBUG=1`) templates reload when edited, so rows are always drawn.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, g, render_template
from flask_babel import get_locale, get_timezone
from markupsafe import Markup

from webapp.i18n import ago
from webapp.incidents import memo
from webapp.incidents.rows import ListRow
from webapp.models import Member, utcnow

_ROWS_MAX = 4096  # rows of about 1.6 KB: a few MB per process


def row_html(row: ListRow, base: str, labels: dict[str, Any]) -> Markup:
    """One list row's HTML, drawn or remembered."""
    now = utcnow()
    member: Member = g.lark.member
    key = (
        *reads(row, now),
        base,
        str(get_locale()),
        str(get_timezone()),
        labels["zone"],  # a zone's offset moves on at daylight saving
        member.has_seat,
    )
    if current_app.debug:
        return _draw(row, base, now)
    drawn: memo.Store[Markup] = current_app.extensions.setdefault(
        "list_rows", memo.Store(_ROWS_MAX)
    )
    return drawn.get_or_make(key, lambda: _draw(row, base, now))


def reads(row: ListRow, now: datetime) -> tuple[ListRow, bool, str]:
    """What a row reads at `now`: its columns and names, whether it is snoozed and
    how old it reads. The row memo's key and the list's ETag are both built from this."""
    return row, row.is_snoozed(now), ago(row.created_at, now)


def _draw(row: ListRow, base: str, now: datetime) -> Markup:
    """The row as of `now`, the moment its key was taken."""
    html = render_template("incidents/_row.html", incident=row, base=base, refusal=None, now=now)
    return Markup(html)  # noqa: S704  (the template autoescapes)
