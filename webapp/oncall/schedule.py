"""Who is on call in a schedule, and its shifts: the database side of `rotation`."""

from __future__ import annotations

from datetime import datetime, timedelta

from webapp.models import Member, Schedule, ScheduleLayer
from webapp.oncall.rotation import (
    OverrideSpan,
    Restriction,
    Rotation,
    Shift,
    final_shifts,
)


def rotation_of(layer: ScheduleLayer) -> Rotation:
    r = layer.restriction
    restriction = (
        Restriction(frozenset(int(d) for d in r["weekdays"]), int(r["start"]), int(r["end"]))
        if r
        else None
    )
    return Rotation(
        layer_id=layer.id,
        position=layer.position,
        member_ids=tuple(int(m) for m in layer.member_ids),
        kind=layer.shift_kind,
        tz=layer.timezone,
        start=layer.rotation_start,
        handoff_minute=layer.handoff_minute,
        handoff_weekday=layer.handoff_weekday,
        hours=layer.shift_hours,
        restriction=restriction,
    )


def _specs(schedule: Schedule) -> tuple[list[Rotation], list[OverrideSpan]]:
    rotations = [rotation_of(layer) for layer in schedule.layers]
    spans = [OverrideSpan(o.id, o.member_id, o.starts_at, o.ends_at) for o in schedule.overrides]
    return rotations, spans


def shifts(
    schedule: Schedule, start: datetime, end: datetime, member: Member | None = None
) -> list[Shift]:
    """The final schedule between start and end (overrides applied), or one member's part."""
    rotations, spans = _specs(schedule)
    found = final_shifts(rotations, spans, start, end)
    return [s for s in found if member is None or s.member_id == member.id]


def on_call(schedule: Schedule, at: datetime) -> Shift | None:
    """The shift covering `at` (whole, up to a week either side), or None: nobody on call."""
    for s in shifts(schedule, at - timedelta(days=8), at + timedelta(days=8)):
        if s.start <= at < s.end:
            return s
    return None


def joined(found: list[Shift]) -> list[Shift]:
    """The final schedule's pieces, with back-to-back pieces of one person made one shift
    (a layer shift running into the same person's override is one stretch on call)."""
    out: list[Shift] = []
    for s in found:
        if out and out[-1].member_id == s.member_id and out[-1].end == s.start:
            out[-1] = Shift(
                s.member_id, out[-1].start, s.end, out[-1].layer_id, out[-1].override_id
            )
        else:
            out.append(s)
    return out
