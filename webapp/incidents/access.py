"""Who may see and change an incident: the one rule every route and verb asks."""

from __future__ import annotations

from flask_babel import gettext as _

from webapp.extensions import db
from webapp.incidents.errors import Actor, NoSeat, NotAllowed
from webapp.incidents.transaction import commit_unless_deferred
from webapp.models import Incident, LicenseRefusal, Member, Source


def may_view(member: Member, incident: Incident) -> bool:
    """Admins see every incident of their account; members see their channels' and their own."""
    if member.account_id != incident.account_id:
        return False
    if member.is_admin or incident.channel is None:
        return True
    return (
        member in incident.channel.members
        or member in incident.assignees
        or member in incident.responders
    )


def check_may_act(incident: Incident, actor: Actor) -> None:
    """Raise unless the actor may change this incident. API and system actors always may."""
    member = actor.member
    if actor.source in (Source.API, Source.SYSTEM) and member is None:
        return
    if member is None or not may_view(member, incident):
        raise NotAllowed(_("You do not have access to this incident."), incident)
    if not member.has_seat:
        db.session.add(
            LicenseRefusal(
                account_id=member.account_id,
                member_id=member.id,
                source=actor.source.value,
                action="act",
            )
        )
        commit_unless_deferred()
        raise NoSeat(
            _(
                "You have no license seat. Ask an account admin to assign you one on the "
                "License page (费用中心)."
            ),
            incident,
        )
