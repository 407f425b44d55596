"""Lark's rate limits and the free edition's monthly quota, as the Lark servers apply them.

The sandbox stands in for Lark, not for our code, so it keeps its own small sliding-window
counters instead of webapp/ratelimit.py. Numbers and codes: decisions.py and
docs/lark/open-api.md#rate-limits and #monthly-quota.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from datetime import UTC, datetime, timedelta

from webapp.sandbox import decisions


class RateLimits:
    def __init__(self) -> None:
        self.enabled = True
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, float], deque[float]] = {}

    def hit(self, key: str, now: float, limits: tuple[tuple[int, float], ...]) -> float | None:
        """Count one call under every (limit, window seconds); None if allowed, else the
        seconds to wait. A refused call is not counted."""
        if not self.enabled:
            return None
        with self._lock:
            waits = [self._wait(key, now, limit, window) for limit, window in limits]
            blocked = [w for w in waits if w is not None]
            if blocked:
                return max(blocked)
            for _limit, window in limits:
                self._windows.setdefault((key, window), deque()).append(now)
            return None

    def _wait(self, key: str, now: float, limit: int, window: float) -> float | None:
        stamps = self._windows.get((key, window))
        if stamps is None:
            return None
        while stamps and stamps[0] <= now - window:
            stamps.popleft()
        if len(stamps) < limit:
            return None
        return stamps[0] + window - now

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()


def api_limits() -> tuple[tuple[int, float], ...]:
    """Per API x app: 50/s and 1000/min -> HTTP 429, 99991400."""
    return ((decisions.API_PER_SECOND, 1.0), (decisions.API_PER_MINUTE, 60.0))


def receiver_limits() -> tuple[tuple[int, float], ...]:
    """Per user, per chat (send) and per message (PATCH): 5/s -> HTTP 400, 230020."""
    return ((decisions.PER_RECEIVER_PER_SECOND, 1.0),)


def reset_header(wait: float) -> str:
    return str(max(1, math.ceil(wait)))


def month_of(now: float) -> str:
    """The quota month ("2026-11"), turning at midnight Beijing time."""
    moment = datetime.fromtimestamp(now, UTC) + timedelta(hours=decisions.QUOTA_UTC_OFFSET_HOURS)
    return moment.strftime("%Y-%m")


def is_counted(path: str) -> bool:
    """Auth, login and contact APIs do not count towards the monthly quota."""
    free = ("/open-apis/auth/", "/open-apis/authen/", "/open-apis/contact/")
    return not path.startswith(free)
