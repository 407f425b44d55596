"""Quiet hours: a window of the day in the member's own time zone (it may cross midnight)."""

from __future__ import annotations

from datetime import datetime, tzinfo

from webapp.paging.rules import Ladder


def in_quiet_hours(ladder: Ladder, moment: datetime, zone: tzinfo) -> bool:
    """True when `moment` falls in the ladder's quiet hours and the ladder keeps them."""
    if not ladder.quiet or ladder.quiet_start == ladder.quiet_end:
        return False
    local = moment.astimezone(zone)
    minute = local.hour * 60 + local.minute
    start, end = ladder.quiet_start, ladder.quiet_end
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end  # 22:00 .. 07:00 crosses midnight
