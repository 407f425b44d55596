"""Which open incident a new alert joins under its channel's grouping rule.

A rule names up to five labels; alerts with equal values of those labels join one incident
while it is open and the last alert joined it less than `window` ago (from its creation when
none has). An alert missing one of the labels joins by its own dedup key alone, unless the
rule says a missing label counts as a value of its own.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_LABELS = 5
MIN_WINDOW_MINUTES = 1
MAX_WINDOW_MINUTES = 24 * 60
KEY_PREFIX = "group:"


@dataclass(frozen=True)
class GroupRule:
    labels: tuple[str, ...]
    window: timedelta
    missing_counts: bool = False


def group_key(rule: GroupRule | None, channel_id: int | None, labels: dict[str, str]) -> str | None:
    """The key shared by every alert of one group, or None when the alert groups alone."""
    if rule is None or not rule.labels:
        return None
    # An empty label is a missing one, as Prometheus has it.
    values = [labels.get(name) or "" for name in rule.labels]
    if "" in values and not rule.missing_counts:
        return None
    canonical = json.dumps([channel_id, list(rule.labels), values], ensure_ascii=False)
    return KEY_PREFIX + hashlib.sha256(canonical.encode()).hexdigest()[:40]


def window_open(
    rule: GroupRule, created_at: datetime, last_merged_at: datetime | None, now: datetime
) -> bool:
    """True while an incident still takes alerts of its group."""
    return now - (last_merged_at or created_at) < rule.window


def count_groups(
    rule: GroupRule, channel_id: int | None, alerts: list[tuple[datetime, str, dict[str, str]]]
) -> int:
    """How many incidents these alerts (arrival time, dedup key, labels; oldest first) would
    have opened under `rule`, counting every group as open for its whole window."""
    last_seen: dict[str, datetime] = {}
    incidents = 0
    for arrived, dedup_key, labels in alerts:
        key = group_key(rule, channel_id, labels) or "alone:" + dedup_key
        previous = last_seen.get(key)
        if previous is None or (key.startswith(KEY_PREFIX) and arrived - previous >= rule.window):
            incidents += 1
        last_seen[key] = arrived
    return incidents
