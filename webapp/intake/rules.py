"""A channel's noise rules, read once per intake request into typed rules.

A channel without a `NoiseRules` row groups nothing, has no storm thresholds and no
inhibition, closes an incident when its alerts have all recovered, and detects flapping
with the defaults (4 changes in 60 minutes, pages muted for 120).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from webapp.extensions import db
from webapp.intake.flapping import FlapRule
from webapp.intake.grouping import GroupRule
from webapp.intake.inhibition import InhibitRule, rules_of
from webapp.models import NoiseRules

DEFAULT_FLAPPING = FlapRule()


@dataclass(frozen=True)
class Noise:
    grouping: GroupRule | None = None
    close_when_recovered: bool = True
    storm_thresholds: list[int] = field(default_factory=list)
    inhibitions: list[InhibitRule] = field(default_factory=list)
    flapping: FlapRule | None = DEFAULT_FLAPPING


def stored(channel_id: int | None) -> NoiseRules | None:
    if channel_id is None:
        return None
    return db.session.execute(
        select(NoiseRules).where(NoiseRules.channel_id == channel_id)
    ).scalar_one_or_none()


def noise_of(row: NoiseRules | None) -> Noise:
    if row is None:
        return Noise()
    grouping = None
    if row.group_by:
        grouping = GroupRule(
            tuple(row.group_by), timedelta(minutes=row.group_window_minutes), row.group_missing
        )
    flapping = None
    if row.flap_enabled:
        flapping = FlapRule(
            row.flap_changes,
            timedelta(minutes=row.flap_minutes),
            timedelta(minutes=row.flap_mute_minutes),
        )
    return Noise(
        grouping=grouping,
        close_when_recovered=row.close_when_recovered,
        storm_thresholds=sorted(int(t) for t in row.storm_thresholds or []),
        inhibitions=rules_of(row.inhibitions or []),
        flapping=flapping,
    )


def for_channel(channel_id: int | None) -> Noise:
    return noise_of(stored(channel_id))
