"""Properties of the final schedule over random rotations, across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from webapp.oncall.rotation import (
    SHIFT_KINDS,
    OverrideSpan,
    Restriction,
    Rotation,
    Shift,
    final_shifts,
    rotation_shifts,
)

ZONES = ["America/New_York", "Europe/Berlin", "Asia/Shanghai"]
# Spring-forward and fall-back days of 2026 (and plain days in Shanghai).
DST_DAYS = [
    date(2026, 3, 8),
    date(2026, 11, 1),
    date(2026, 3, 29),
    date(2026, 10, 25),
    date(2026, 6, 15),
]
FEW = settings(max_examples=60, deadline=None)


@st.composite
def restrictions(draw: st.DrawFn) -> Restriction | None:
    if draw(st.booleans()):
        return None
    start = draw(st.integers(0, 23 * 60 - 30))
    end = draw(st.integers(start + 30, 24 * 60 - 1))
    days = draw(st.frozensets(st.integers(0, 6), min_size=1))
    return Restriction(days, start, end)


@st.composite
def rotations(draw: st.DrawFn, layer_id: int = 1, position: int = 0) -> Rotation:
    return Rotation(
        layer_id=layer_id,
        position=position,
        member_ids=tuple(draw(st.lists(st.integers(1, 6), min_size=1, max_size=4))),
        kind=draw(st.sampled_from(SHIFT_KINDS)),
        tz=draw(st.sampled_from(ZONES)),
        start=draw(st.sampled_from(DST_DAYS)) - timedelta(days=draw(st.integers(0, 20))),
        # Handoffs at 02:30 fall in New York's gap and repeated hour.
        handoff_minute=draw(st.sampled_from([0, 90, 120, 150, 9 * 60, 23 * 60 + 59])),
        handoff_weekday=draw(st.integers(0, 6)),
        hours=draw(st.sampled_from([1, 5, 8, 12, 24, 36])),
        restriction=draw(restrictions()),
    )


@st.composite
def ranges(draw: st.DrawFn) -> tuple[datetime, datetime]:
    day = draw(st.sampled_from(DST_DAYS))
    start = datetime.combine(day, datetime.min.time(), UTC) + timedelta(
        minutes=draw(st.integers(-36 * 60, 36 * 60))
    )
    return start, start + timedelta(minutes=draw(st.integers(1, 4 * 24 * 60)))


def wall_inside(r: Restriction, tz: str, at: datetime) -> bool | None:
    """Whether the wall clock at `at` is inside r; None in a repeated hour (ambiguous)."""
    local = at.astimezone(ZoneInfo(tz))
    naive = local.replace(tzinfo=None)
    other = naive.replace(tzinfo=ZoneInfo(tz), fold=1 - local.fold)
    if other.utcoffset() != local.utcoffset():
        return None
    minute = local.hour * 60 + local.minute
    return local.weekday() in r.weekdays and r.start_minute <= minute < r.end_minute


def probe(start: datetime, end: datetime, n: int = 97) -> list[datetime]:
    step = (end - start) / n
    return [start + step * i for i in range(n)] + [end - timedelta(microseconds=1)]


def covering(shifts: list[Shift], at: datetime) -> list[Shift]:
    return [s for s in shifts if s.start <= at < s.end]


@FEW
@given(rotations(), ranges())
def test_a_layer_has_exactly_one_person_inside_its_restrictions(
    rot: Rotation, span: tuple[datetime, datetime]
) -> None:
    shifts = rotation_shifts(rot, *span)
    for at in probe(*span):
        here = covering(shifts, at)
        assert len(here) <= 1
        if rot.restriction is None:
            assert len(here) == 1
            assert here[0].member_id in rot.member_ids
        else:
            inside = wall_inside(rot.restriction, rot.tz, at)
            if inside is not None:
                assert len(here) == (1 if inside else 0), (at, here)


@FEW
@given(rotations(), ranges())
def test_a_layers_shifts_tile_the_range_without_gap_or_overlap(
    rot: Rotation, span: tuple[datetime, datetime]
) -> None:
    rot = Rotation(**{**rot.__dict__, "restriction": None})
    shifts = rotation_shifts(rot, *span)
    assert shifts[0].start == span[0]
    assert shifts[-1].end == span[1]
    for before, after in pairwise(shifts):
        assert before.end == after.start
        assert before.start < before.end


@FEW
@given(rotations(), ranges())
def test_restricted_shifts_never_overlap(rot: Rotation, span: tuple[datetime, datetime]) -> None:
    shifts = rotation_shifts(rot, *span)
    for before, after in pairwise(shifts):
        assert before.start < before.end <= after.start
    assert all(span[0] <= s.start and s.end <= span[1] for s in shifts)


@FEW
@given(
    rotations(layer_id=1, position=0),
    rotations(layer_id=2, position=1),
    ranges(),
    st.lists(st.tuples(st.integers(0, 3000), st.integers(1, 900), st.integers(7, 9)), max_size=3),
)
def test_overrides_win_then_the_higher_layer_then_the_lower(
    low: Rotation,
    high: Rotation,
    span: tuple[datetime, datetime],
    raw: list[tuple[int, int, int]],
) -> None:
    overrides = [
        OverrideSpan(
            i + 1, who, span[0] + timedelta(minutes=at), span[0] + timedelta(minutes=at + length)
        )
        for i, (at, length, who) in enumerate(raw)
    ]
    final = final_shifts([low, high], overrides, *span)
    low_shifts, high_shifts = rotation_shifts(low, *span), rotation_shifts(high, *span)
    for before, after in pairwise(final):
        assert before.end <= after.start
    for at in probe(*span):
        here = covering(final, at)
        active = [o for o in overrides if o.start <= at < o.end]
        if active:
            expected = max(active, key=lambda o: o.override_id).member_id
        elif covering(high_shifts, at):
            expected = covering(high_shifts, at)[0].member_id
        elif covering(low_shifts, at):
            expected = covering(low_shifts, at)[0].member_id
        else:
            assert here == []
            continue
        assert [s.member_id for s in here] == [expected], at


def test_a_daily_shift_is_23_hours_on_spring_forward_and_25_on_fall_back() -> None:
    rot = Rotation(
        1, 0, (1, 2), "daily", "America/New_York", date(2026, 3, 1), handoff_minute=9 * 60
    )
    spring = rotation_shifts(
        rot, datetime(2026, 3, 7, 14, tzinfo=UTC), datetime(2026, 3, 8, 13, tzinfo=UTC)
    )
    assert [s.end - s.start for s in spring] == [timedelta(hours=23)]
    fall_rot = Rotation(
        1, 0, (1, 2), "daily", "Europe/Berlin", date(2026, 10, 1), handoff_minute=9 * 60
    )
    fall = rotation_shifts(
        fall_rot, datetime(2026, 10, 24, 7, tzinfo=UTC), datetime(2026, 10, 25, 8, tzinfo=UTC)
    )
    assert [s.end - s.start for s in fall] == [timedelta(hours=25)]
    # And the people alternate day by day from the rotation start.
    assert spring[0].member_id == 1 + (date(2026, 3, 7) - date(2026, 3, 1)).days % 2


def test_a_handoff_inside_the_spring_gap_happens_when_the_clocks_jump() -> None:
    rot = Rotation(1, 0, (1, 2), "daily", "America/New_York", date(2026, 3, 1), handoff_minute=150)
    found = rotation_shifts(
        rot, datetime(2026, 3, 8, 0, tzinfo=UTC), datetime(2026, 3, 9, 0, tzinfo=UTC)
    )
    # 02:30 does not exist on 8 March; 02:00 EST became 03:00 EDT at 07:00 UTC.
    assert found[0].end == datetime(2026, 3, 8, 7, tzinfo=UTC)
