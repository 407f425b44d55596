"""Flapping: an alert that changes state N times within M minutes has its pages muted for
T minutes (defaults 4 in 60, muted 120, as Flashduty's flapping detection).

Pure arithmetic over the alert's recent state changes (kept as ISO times on the alert).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class FlapRule:
    changes: int = 4
    window: timedelta = timedelta(minutes=60)
    mute: timedelta = timedelta(minutes=120)


def remember(changes: list[str], now: datetime, rule: FlapRule) -> list[str]:
    """The changes still inside the window, with this one added."""
    since = now - rule.window
    kept = [c for c in changes if datetime.fromisoformat(c) > since]
    return [*kept, now.isoformat()][-max(rule.changes, 1) :]


def starts_flapping(changes: list[str], rule: FlapRule) -> bool:
    """True when the window holds the rule's number of changes."""
    return len(changes) >= rule.changes


def muted(flapping_until: datetime | None, now: datetime) -> bool:
    return flapping_until is not None and flapping_until > now
