"""Which schedules page for each channel: those a layer of the channel's enabled dispatch
policies names. Who is on call "for a channel" is who is on call in these."""

from __future__ import annotations

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Channel, DispatchRule, Schedule


def schedules_by_channel(account_id: int) -> list[tuple[Channel, list[Schedule]]]:
    """Every channel of the account, by name, with the schedules its policies page."""
    channels = db.session.scalars(
        select(Channel).where(Channel.account_id == account_id).order_by(Channel.name)
    ).all()
    schedules = {
        s.id: s
        for s in db.session.scalars(select(Schedule).where(Schedule.account_id == account_id))
    }
    rules = db.session.scalars(
        select(DispatchRule)
        .where(DispatchRule.channel_id.in_([c.id for c in channels]), DispatchRule.enabled)
        .order_by(DispatchRule.position, DispatchRule.id)
    ).all()
    paged: dict[int, dict[int, Schedule]] = {c.id: {} for c in channels}
    for rule in rules:
        for layer in rule.layers or []:
            for schedule_id in layer.get("schedule_ids") or []:
                found = schedules.get(int(schedule_id))
                if found is not None:
                    paged[rule.channel_id].setdefault(found.id, found)
    return [(c, list(paged[c.id].values())) for c in channels]
