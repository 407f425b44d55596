"""Declaring an incident by hand from the web app: who may, in which channel, for whom.

A member with a seat declares in a channel they belong to (admins in any channel of the
account), with people of the account; the incident then opens like any other
(`service.open_incident`) and is dispatched to its channel's policy."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from webapp.extensions import db
from webapp.incidents import service
from webapp.incidents.errors import Actor
from webapp.models import Channel, Incident, Member, Severity, Source

TITLE_MAX = 500
DESCRIPTION_MAX = 10_000


@dataclass(frozen=True)
class Declaration:
    title: str
    severity: str
    description: str
    channel_id: str
    assignee_ids: list[str]


class DeclarationInvalid(Exception):
    """Wrong fields, by form field name; nothing was created."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


def channels_for(member: Member) -> list[Channel]:
    """Where the member may declare: their channels (every channel for admins), by name."""
    stmt = select(Channel).where(Channel.account_id == member.account_id).order_by(Channel.name)
    found = list(db.session.scalars(stmt))
    return found if member.is_admin else [c for c in found if member in c.members]


def declare(member: Member, form: Declaration) -> Incident:
    """Open the incident as the member (source web), or raise DeclarationInvalid."""
    errors: dict[str, str] = {}
    title = form.title.strip()
    if not title or len(title) > TITLE_MAX:
        errors["title"] = _("Give it a title of at most %(n)s characters.", n=TITLE_MAX)
    if form.severity not in {s.value for s in Severity}:
        errors["severity"] = _("Choose Critical, Warning or Info.")
    if len(form.description) > DESCRIPTION_MAX:
        errors["description"] = _("At most %(n)s characters.", n=DESCRIPTION_MAX)
    channel = _channel(member, form.channel_id, errors)
    people = _people(member, form.assignee_ids, errors)
    if not member.has_seat:
        errors["seat"] = _(
            "You have no license seat. Ask an account admin to assign you one on the "
            "License page (费用中心)."
        )
    if errors:
        raise DeclarationInvalid(errors)
    return service.open_incident(
        member.account_id,
        title=title,
        severity=Severity(form.severity),
        actor=Actor(member, Source.WEB),
        description=form.description.strip(),
        channel_id=channel.id if channel else None,
        assignees=people,
    )


def _channel(member: Member, raw: str, errors: dict[str, str]) -> Channel | None:
    if not raw:
        return None
    allowed = {str(c.id): c for c in channels_for(member)}
    if raw not in allowed:
        errors["channel_id"] = _("Choose one of your channels.")
        return None
    return allowed[raw]


def _people(member: Member, raw: list[str], errors: dict[str, str]) -> list[Member]:
    ids = [int(v) for v in raw if v.isdigit() and len(v) < 10]
    found = list(
        db.session.scalars(
            select(Member)
            .where(Member.account_id == member.account_id, Member.id.in_(ids))
            .order_by(Member.id)
        )
    )
    if len(found) != len(set(raw)):
        errors["assignee_ids"] = _("Choose people of this account.")
    return found
