"""What Lark calls leave behind: the monthly usage counter, notable refusals, and evidence.

Each write is its own short transaction on the engine (`db.engine.begin()`), never the
caller's session: a send inside an outbox transaction that later rolls back must still be
counted, and a failure to count must never fail the send (we log and carry on).

The monthly counter is one row per integration that every send of every worker adds to: a
hot row. Each process keeps its counts in memory and adds them to the row once a second
(and when it exits), so a crash loses at most the last second's counts; `monthly_calls`
adds this process's counts that are not written yet, and reads while no flush is half done
(a count is either in memory or in the row, never in neither nor in both).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.lark.errors import LarkError
from webapp.models import ApiUsage, LarkApiEvent, LarkIntegration, dialect_insert, utcnow

log = logging.getLogger(__name__)

# The free edition's quota leaves out auth, events and contact APIs
# (docs/lark/open-api.md#monthly-quota).
_UNCOUNTED_PREFIXES = ("/open-apis/auth/", "/open-apis/authen/", "/open-apis/contact/")

# reason -> LarkApiEvent.kind, for the answers the diagnostics page explains.
_EVENT_KINDS = {"rate_limited": "rate_limited", "quota": "quota", "no_permission": "permission"}


def is_counted(path: str) -> bool:
    return not path.startswith(_UNCOUNTED_PREFIXES)


# The free quota resets "on the 1st" (docs/lark/open-api.md#monthly-quota). Feishu is a China
# service, so the month turns at midnight Beijing time (UTC+8, no daylight saving), as the
# sandbox decides too.
QUOTA_TZ = ZoneInfo("Asia/Shanghai")


def month_of(when: datetime) -> str:
    """The quota month ("2026-12") that the instant `when` falls in, in Beijing time."""
    return when.astimezone(QUOTA_TZ).strftime("%Y-%m")


def month_starts_at(when: datetime) -> datetime:
    """00:00 Beijing time on the 1st of the quota month of `when`, as a UTC instant."""
    local = when.astimezone(QUOTA_TZ)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def quota_resets_at(when: datetime) -> datetime:
    """00:00 Beijing time on the 1st of the next quota month, as a UTC instant."""
    local = when.astimezone(QUOTA_TZ)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return datetime(year, month, 1, tzinfo=QUOTA_TZ).astimezone(UTC)


# How often a process adds its counted calls to the database.
FLUSH_EVERY_S = 1.0

Key = tuple[int, str]  # (integration id, quota month)


class Tally:
    """One process's counted calls not yet added to the database."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.lock = threading.Lock()
        # Held from taking the counts to committing them, and by a reader of row + memory.
        self.flushing = threading.Lock()
        self.counts: Counter[Key] = Counter()
        self.stop = threading.Event()
        self.pid = 0  # the process whose flusher runs (a fork needs its own)

    def add(self, key: Key) -> None:
        with self.lock:
            if self.pid != os.getpid():
                if self.pid:  # a forked copy: the parent writes what it counted
                    self.counts = Counter()
                self.pid = os.getpid()
                threading.Thread(target=self._every_second, name="lark-usage", daemon=True).start()
            self.counts[key] += 1

    def pending(self, key: Key) -> int:
        with self.lock:
            return self.counts.get(key, 0)

    def flush(self) -> None:
        with self.flushing:
            with self.lock:
                counts, self.counts = self.counts, Counter()
            if not counts:
                return
            try:
                with self.app.app_context(), db.engine.begin() as conn:
                    for (integration_id, month), calls in sorted(counts.items()):  # lock order
                        _increment(conn, integration_id, month, calls)
            except IntegrityError:
                log.warning("Lark usage of a deleted integration dropped: %s", dict(counts))
            except Exception:
                log.exception("could not record Lark usage; kept for the next flush")
                with self.lock:
                    self.counts.update(counts)

    def discard(self) -> None:
        with self.lock:
            self.counts.clear()

    def _every_second(self) -> None:
        while not self.stop.wait(FLUSH_EVERY_S):
            self.flush()


_tallies_lock = threading.Lock()


def tally(app: Flask | None = None) -> Tally:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    with _tallies_lock:
        found = app.extensions.get("lark_usage")
        if found is None:
            found = app.extensions["lark_usage"] = Tally(app)
            atexit.register(found.flush)
            app.extensions.setdefault("test_resets", []).append(found.discard)
    assert isinstance(found, Tally)
    return found


def count_call(integration_id: int | None, path: str) -> None:
    """One successful counted call (failed calls do not count against the quota)."""
    if integration_id is None or not is_counted(path):
        return
    tally().add((integration_id, month_of(utcnow())))


def unflushed(integration_id: int, month: str) -> int:
    """This process's counted calls of that month not yet in the database."""
    return tally().pending((integration_id, month))


def monthly_calls(integration_id: int, month: str) -> int:
    """The calls counted in that quota month: every process's written row plus this process's
    counts not written yet, read while no flush of this process is between the two."""
    found = tally()
    stmt = select(func.coalesce(func.sum(ApiUsage.calls), 0)).where(
        ApiUsage.integration_id == integration_id, ApiUsage.month == month
    )
    with found.flushing:
        stored = int(db.session.execute(stmt).scalar_one())
        return stored + found.pending((integration_id, month))


def flush() -> None:
    """Add this process's counted calls to the database now."""
    tally().flush()


def note_failure(integration_id: int | None, path: str, error: LarkError) -> None:
    kind = _EVENT_KINDS.get(error.reason)
    if integration_id is None or kind is None:
        return
    row = {"integration_id": integration_id, "path": path[:120], "code": error.code, "kind": kind}
    _write(lambda conn: conn.execute(insert(LarkApiEvent).values(created_at=utcnow(), **row)))


def token_ok(integration_id: int | None) -> None:
    _evidence(integration_id, token_ok_at=utcnow(), token_error=None)


def token_failed(integration_id: int | None, message: str) -> None:
    _evidence(integration_id, token_error=message[:500])


def send_ok(integration_id: int | None) -> None:
    _evidence(integration_id, last_send_ok_at=utcnow())


def chats_listed(integration_id: int | None, seen: int) -> None:
    _evidence(integration_id, chats_listed_at=utcnow(), chats_seen=seen)


def _evidence(integration_id: int | None, **values: Any) -> None:
    if integration_id is None:
        return
    stmt = update(LarkIntegration).where(LarkIntegration.id == integration_id).values(**values)
    _write(lambda conn: conn.execute(stmt))


def _increment(conn: Connection, integration_id: int, month: str, calls: int) -> None:
    stmt = dialect_insert(ApiUsage, conn).values(
        integration_id=integration_id, month=month, calls=calls
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["integration_id", "month"],
        set_={"calls": ApiUsage.__table__.c.calls + calls},
    )
    conn.execute(stmt)


def _write(work: Callable[[Connection], Any]) -> None:
    try:
        with db.engine.begin() as conn:
            work(conn)
    except Exception:
        log.exception("could not record Lark usage")
