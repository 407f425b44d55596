"""The worker's pass over silences: act on each start and each end exactly once.

A silence that starts holds the open incidents it matches; one that ends releases them and
pages those still waiting. Each is claimed by a compare-and-set on its mark (`begun_at`,
`finished_at`) as the first write of the transaction that then writes the timeline lines
and the outbox rows: of two workers (or a worker and a request) only one claims it, and a
failure rolls the mark back with everything else.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select, update

from webapp.extensions import db
from webapp.incidents.service import Actor
from webapp.models import Silence, utcnow
from webapp.silences import service, windows

BATCH = 50


def run(now: datetime | None = None) -> int:
    """Handle every start and end that is due; returns how many."""
    now = now or utcnow()
    begins = (Silence.begun_at.is_(None), Silence.starts_at <= now, Silence.ends_at > now)
    ends = (Silence.finished_at.is_(None), Silence.ends_at <= now)
    done = _each(begins, {"begun_at": now}, lambda s: _begin(s, now))
    return done + _each(ends, {"finished_at": now}, lambda s: _finish(s, now))


def _begin(silence: Silence, now: datetime) -> None:
    if silence.window_id is not None:
        windows.started(silence, Actor.system(), now)
    else:
        service.begin(silence, Actor.system(), now)


def _finish(silence: Silence, now: datetime) -> None:
    if silence.window_id is not None:
        windows.finished(silence, Actor.system(), now)
    else:
        service.finish(silence, Actor.system(), now, "expired")


def _each(
    due: tuple[ColumnElement[bool], ...], mark: dict[str, Any], act: Callable[[Silence], None]
) -> int:
    done = 0
    for _ in range(BATCH):
        found = db.session.scalar(
            select(Silence.id).where(*due).order_by(Silence.ends_at, Silence.id).limit(1)
        )
        if found is None:
            break
        claimed = db.session.execute(
            update(Silence).where(Silence.id == found, *due).values(**mark)
        )
        silence = db.session.get(Silence, found, populate_existing=True)
        if getattr(claimed, "rowcount", 0) != 1 or silence is None:
            db.session.rollback()  # another worker has it
            continue
        try:
            act(silence)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        done += 1
    return done
