"""Who is on call, computed from rotations and overrides: pure functions, no database.

Plain arithmetic, not `dateutil.rrule`: a rotation's k-th handoff is a closed formula
(anchor date + k days or weeks at the handoff wall time, or anchor + k*N elapsed hours),
and the person on call is `members[k % len(members)]`. Asking "who is on at t" is then
O(1) instead of iterating an rrule from the rotation's start, and DST is handled in one
place (`wall_to_utc`) rather than relying on rrule's naive-datetime stepping, which
neither resolves wall times that fall in a DST gap nor picks a side of a repeated hour.

Rules, in the layer's own IANA timezone:
- daily / weekly shifts hand off at a wall-clock time, so across a DST change the shift
  is 23 or 25 hours long; N-hour shifts are N elapsed hours, whatever the clocks say.
- a wall time inside a spring-forward gap means the instant the clocks jump; a wall time
  in the repeated fall-back hour means its first occurrence.
- a restriction (weekdays + a daily window) keeps the layer's person on call only inside
  the window; outside it the layer is empty and a lower layer shows through.
- the final schedule: an override always wins (the most recent one where they overlap),
  otherwise the highest layer that has someone.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

DAILY = "daily"
WEEKLY = "weekly"
HOURS = "hours"
SHIFT_KINDS = (DAILY, WEEKLY, HOURS)


@dataclass(frozen=True)
class Restriction:
    weekdays: frozenset[int]  # 0 = Monday
    start_minute: int  # minutes after local midnight
    end_minute: int  # exclusive, > start_minute


@dataclass(frozen=True)
class Rotation:
    layer_id: int
    position: int  # higher wins
    member_ids: tuple[int, ...]
    kind: str
    tz: str
    start: date  # members[0] takes the first handoff on or after this date
    handoff_minute: int = 9 * 60
    handoff_weekday: int = 0  # weekly only
    hours: int = 24  # HOURS only
    restriction: Restriction | None = None


@dataclass(frozen=True)
class OverrideSpan:
    override_id: int
    member_id: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Shift:
    member_id: int
    start: datetime
    end: datetime
    layer_id: int | None = None
    override_id: int | None = None


def wall_to_utc(day: date, minute: int, tz: str) -> datetime:
    """The first instant whose wall clock in `tz` reads `day` at `minute`, or just after."""
    zone = ZoneInfo(tz)
    naive = datetime.combine(day, time(minute // 60, minute % 60))
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    # In a gap: fold=1 reads the wall time with the offset after the jump, landing before
    # it; the jump lies between the two readings. Find it to the second.
    low = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = first
    offset = high.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        mid = low + (high - low) / 2
        if mid.astimezone(zone).utcoffset() == offset:
            high = mid
        else:
            low = mid
    return high.replace(microsecond=0)


def _anchor(rot: Rotation) -> date:
    if rot.kind == WEEKLY:
        return rot.start + timedelta(days=(rot.handoff_weekday - rot.start.weekday()) % 7)
    return rot.start


def handoff(rot: Rotation, k: int) -> datetime:
    """The instant of the k-th handoff (k may be negative: the rotation extends back)."""
    anchor = _anchor(rot)
    if rot.kind == HOURS:
        return wall_to_utc(anchor, rot.handoff_minute, rot.tz) + timedelta(hours=rot.hours * k)
    step = 7 if rot.kind == WEEKLY else 1
    return wall_to_utc(anchor + timedelta(days=step * k), rot.handoff_minute, rot.tz)


def index_at(rot: Rotation, at: datetime) -> int:
    """k such that handoff(k) <= at < handoff(k + 1)."""
    if rot.kind == HOURS:
        k = (at - handoff(rot, 0)) // timedelta(hours=rot.hours)
    else:
        days = (at.astimezone(ZoneInfo(rot.tz)).date() - _anchor(rot)).days
        k = days // (7 if rot.kind == WEEKLY else 1)
    while handoff(rot, k) > at:
        k -= 1
    while handoff(rot, k + 1) <= at:
        k += 1
    return k


def windows(
    restriction: Restriction, tz: str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The restriction's windows that meet [start, end), clipped to it."""
    zone = ZoneInfo(tz)
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    found = []
    while day <= last:
        if day.weekday() in restriction.weekdays:
            lo = max(start, wall_to_utc(day, restriction.start_minute, tz))
            hi = min(end, wall_to_utc(day, restriction.end_minute, tz))
            if lo < hi:
                found.append((lo, hi))
        day += timedelta(days=1)
    return found


def rotation_shifts(rot: Rotation, start: datetime, end: datetime) -> list[Shift]:
    """The layer's shifts meeting [start, end), clipped to it and to its restriction."""
    if not rot.member_ids or start >= end:
        return []
    spans = (
        [(start, end)] if rot.restriction is None else windows(rot.restriction, rot.tz, start, end)
    )
    shifts = []
    for lo, hi in spans:
        k = index_at(rot, lo)
        while (begin := handoff(rot, k)) < hi:
            member = rot.member_ids[k % len(rot.member_ids)]
            shifts.append(
                Shift(member, max(lo, begin), min(hi, handoff(rot, k + 1)), layer_id=rot.layer_id)
            )
            k += 1
    return shifts


def _covering(shifts: Sequence[Shift], starts: Sequence[datetime], at: datetime) -> Shift | None:
    i = bisect_right(starts, at) - 1
    if i >= 0 and shifts[i].start <= at < shifts[i].end:
        return shifts[i]
    return None


def final_shifts(
    rotations: Iterable[Rotation],
    overrides: Iterable[OverrideSpan],
    start: datetime,
    end: datetime,
) -> list[Shift]:
    """The final schedule over [start, end): who is actually on call, piece by piece."""
    layers = []
    for rot in sorted(rotations, key=lambda r: (-r.position, r.layer_id)):
        shifts = rotation_shifts(rot, start, end)
        layers.append((shifts, [s.start for s in shifts]))
    spans = sorted(
        (o for o in overrides if o.start < end and o.end > start and o.start < o.end),
        key=lambda o: -o.override_id,
    )
    cuts = {start, end}
    for shifts, _ in layers:
        for s in shifts:
            cuts.update((s.start, s.end))
    for o in spans:
        cuts.update((max(start, o.start), min(end, o.end)))
    edges = sorted(cuts)
    result: list[Shift] = []
    origins: list[object] = []
    for lo, hi in pairwise(edges):
        piece, origin = _who(layers, spans, lo, hi)
        if piece is None:
            continue
        if result and origins[-1] is origin and result[-1].end == lo:
            result[-1] = Shift(
                piece.member_id, result[-1].start, hi, piece.layer_id, piece.override_id
            )
        else:
            result.append(piece)
            origins.append(origin)
    return result


def _who(
    layers: Sequence[tuple[Sequence[Shift], Sequence[datetime]]],
    spans: Sequence[OverrideSpan],
    lo: datetime,
    hi: datetime,
) -> tuple[Shift | None, object]:
    for o in spans:
        if o.start <= lo < o.end:
            return Shift(o.member_id, lo, hi, override_id=o.override_id), o
    for shifts, starts in layers:
        found = _covering(shifts, starts, lo)
        if found is not None:
            return Shift(found.member_id, lo, hi, layer_id=found.layer_id), found
    return None, None
