"""The shift reminder by e-mail, for people in a schedule not linked to Lark.

When SMTP_URL is set, `reminders.queue_due` writes their reminder row with the e-mail address
as its receiver; the delivery worker hands the message drawn here to the mailer
(webapp/delivery/mail.py `send`). It is not an incident e-mail: no incident, no fallback.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _

from webapp.models import Member, Schedule
from webapp.schedules import cards


def mail_configured() -> bool:
    return bool(current_app.config.get("SMTP_URL"))


def link_step() -> str:
    return _("To link it: open the On-call app from the Lark workbench once and sign in.")


def compose(member: Member, reminder: cards.ReminderView, link: str, to: str) -> EmailMessage:
    """ "Your on-call shift starts in 30 minutes", the shift, what it takes over, and why
    this came by e-mail."""
    schedule: Schedule = reminder.schedule
    locale = member.locale if member.locale in ("en", "zh") else "en"
    with force_locale(locale):
        title = ngettext(
            "Your on-call shift starts in %(num)s minute",
            "Your on-call shift starts in %(num)s minutes",
            reminder.minutes,
        )
        when = cards.span(reminder.start, reminder.end, schedule.timezone, locale)
        lines = [
            _("Hello %(name)s,", name=member.name),
            "",
            f"{title}.",
            _("Schedule: %(name)s", name=schedule.name),
            _("Shift: %(when)s", when=when),
            "",
        ]
        if reminder.incidents:
            lines.append(_("Open incidents you take over (%(n)s):", n=len(reminder.incidents)))
            lines += [f"#{i.number} {i.title[:120]}" for i in reminder.incidents]
        else:
            lines.append(_("No open incidents: a quiet handoff."))
        lines += [
            "",
            _("Open the schedule: %(link)s", link=link),
            "",
            _(
                "You get this reminder by e-mail because your Lark account is not linked to "
                "the On-call app yet, so Lark cannot reach you."
            ),
            link_step(),
        ]
        subject = f"{title}: {schedule.name}"
    message = EmailMessage()
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="oncall.local")
    message.set_content("\n".join(lines))
    return message
