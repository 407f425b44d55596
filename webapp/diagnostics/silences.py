"""The diagnostics check of silences: one that matches everything, or lasts over a week.

Either keeps pages from reaching anyone for longer than a person planned: a catch-all
silence quiets every alert of the account, and a silence of weeks outlives the work it was
made for. Maintenance windows are left out: booked and bounded, they are meant to recur.
"""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from webapp.diagnostics.checks import Check, Level
from webapp.extensions import db
from webapp.models import Account, Silence, utcnow
from webapp.silences.matchers import load, matches_everything

LONGEST = timedelta(days=7)


def silences_check(account: Account) -> Check:
    now = utcnow()
    live = db.session.scalars(
        select(Silence)
        .where(
            Silence.account_id == account.id,
            Silence.window_id.is_(None),
            Silence.ends_at > now,
        )
        .order_by(Silence.ends_at)
    )
    items = [_item(s) for s in live if _risky(s)]
    title = _("Silences")
    if not items:
        return Check(
            "silences", title, Level.OK, _("No silence matches everything or lasts over a week.")
        )
    return Check(
        "silences",
        title,
        Level.WARNING,
        _("Some silences may keep pages from everyone for too long:"),
        _("End or narrow them on Silences (in the admin bar), or book a maintenance window."),
        items,
    )


def _risky(silence: Silence) -> bool:
    return silence.ends_at - silence.starts_at > LONGEST or matches_everything(
        load(silence.matchers)
    )


def _item(silence: Silence) -> str:
    shown = ", ".join(str(m) for m in load(silence.matchers))
    if matches_everything(load(silence.matchers)):
        why = _("matches every alert")
    else:
        days = round((silence.ends_at - silence.starts_at).total_seconds() / 86400)
        why = _("lasts %(days)d days", days=days)
    return _(
        "%(matchers)s (%(why)s), until %(until)s, by %(who)s",
        matchers=shown,
        why=why,
        until=silence.ends_at.strftime("%Y-%m-%d %H:%M UTC"),
        who=silence.created_by,
    )
