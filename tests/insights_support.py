"""A small known week of incidents for the insights tests, made through the incident service.

The clock stands at Monday 2026-06-15 10:00 Beijing time (NOW). The 7-day period is
06-09 .. 06-15 (local days); the previous 7 days are 06-02 .. 06-08.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import time_machine

from tests import factories
from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.models import Channel, Incident, Severity, Source

NOW = "2026-06-15T10:00:00+08:00"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + "+08:00")


@dataclass
class Week:
    owner: factories.Persona
    member: factories.Persona
    channel: Channel
    escalated: Incident


def build(
    clock: time_machine.Traveller, owner: factories.Persona, member: factories.Persona
) -> Week:
    account, me, boss = owner.account, member.member, owner.member
    ch = factories.channel(account, [me], name="Payments")

    def opened(
        when: str, title: str, severity: Severity, who: list, ch_: Channel | None = None
    ) -> Incident:
        clock.move_to(at(when))
        return factories.incident(account, title=title, severity=severity, assignees=who, ch=ch_)

    def later(inc: Incident, minutes: int, verb: str, actor: Actor) -> None:
        clock.move_to(inc.created_at + timedelta(minutes=minutes))
        getattr(incidents, verb)(inc, actor)

    # Previous period: one critical, acknowledged after 20 min, resolved after 2 h.
    p1 = opened("2026-06-05T11:00:00", "disk full", Severity.CRITICAL, [me])
    later(p1, 20, "acknowledge", Actor(boss, Source.WEB))
    later(p1, 120, "resolve", Actor(boss, Source.WEB))
    # This period.
    i5 = opened("2026-06-10T14:00:00", "cpu high", Severity.WARNING, [me], ch)
    for _ in range(2):
        incidents.record(i5, Actor.system(), "escalated", {"layer": 2})
    db.session.commit()
    i4 = opened("2026-06-12T20:00:00", "disk full", Severity.INFO, [])
    later(i4, 15, "acknowledge", Actor.api())
    i3 = opened("2026-06-13T12:00:00", "cpu high", Severity.WARNING, [boss])
    later(i3, 20, "resolve", Actor.system())
    i2 = opened("2026-06-14T03:00:00", "disk full", Severity.CRITICAL, [me])
    later(i2, 10, "acknowledge", Actor(boss, Source.WEB))
    later(i2, 30, "resolve", Actor(boss, Source.WEB))
    i1 = opened("2026-06-15T09:30:00", "disk full", Severity.CRITICAL, [me])
    later(i1, 5, "acknowledge", Actor(me, Source.CARD))
    later(i1, 65, "resolve", Actor(me, Source.WEB))
    clock.move_to(at("2026-06-15T10:00:00"))
    return Week(owner, member, ch, i5)
