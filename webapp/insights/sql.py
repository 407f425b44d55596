"""The SQL pieces the insights figures are built from, the same on SQLite and PostgreSQL:
durations in seconds, parts of a local time (hour, weekday) at a zone's offset, the
out-of-hours and night tests, and nearest-rank quantiles (median, p90) per group.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, cast, func, or_, select

from webapp.extensions import db


def postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def seconds(later: Any, earlier: Any) -> ColumnElement[Any]:
    if postgres():
        # date_part is double precision: cheaper to sort than EXTRACT's numeric.
        return func.round(func.date_part("epoch", later - earlier))
    return func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0)


def _sqlite_shift(zone: ZoneInfo, at: datetime) -> str:
    offset = zone.utcoffset(at.replace(tzinfo=None)) or timedelta()
    return f"{int(offset.total_seconds() // 60):+d} minutes"


def local_part(col: Any, part: str, zone: ZoneInfo, at: datetime) -> ColumnElement[Any]:
    """'day' (YYYY-MM-DD text), 'hour' (0-23) or 'dow' (0 = Sunday) in the zone."""
    if postgres():
        local = func.timezone(zone.key, col)
        if part == "day":
            return func.to_char(local, "YYYY-MM-DD")
        return cast(func.extract(part, local), Integer)
    shift = _sqlite_shift(zone, at)
    if part == "day":
        return func.date(col, shift)
    fmt = "%H" if part == "hour" else "%w"
    return cast(func.strftime(fmt, col, shift), Integer)


def out_of_hours(col: Any, zone: ZoneInfo, at: datetime) -> ColumnElement[bool]:
    hour = local_part(col, "hour", zone, at)
    return or_(local_part(col, "dow", zone, at).in_((0, 6)), hour < 9, hour >= 18)


def night(col: Any, zone: ZoneInfo, at: datetime) -> ColumnElement[bool]:
    hour = local_part(col, "hour", zone, at)
    return or_(hour >= 22, hour < 8)


@dataclass(frozen=True)
class Quantiles:
    count: int = 0
    median: int | None = None  # seconds
    p90: int | None = None


def quantiles(key: Any, value: Any, where: list[Any]) -> dict[Any, Quantiles]:
    """Nearest-rank median and p90 of `value` per `key`, rows with a null value left out."""
    conditions = [*where, value.is_not(None)]
    if postgres():
        rows = db.session.execute(
            select(
                key,
                func.count(),
                func.percentile_disc(0.5).within_group(value),
                func.percentile_disc(0.9).within_group(value),
            )
            .where(*conditions)
            .group_by(key)
        ).all()
        return {k: Quantiles(int(n), as_int(m), as_int(p)) for k, n, m, p in rows}
    ranked = (
        select(
            key.label("k"),
            value.label("v"),
            func.row_number().over(partition_by=key, order_by=value).label("rn"),
            func.count().over(partition_by=key).label("n"),
        )
        .where(*conditions)
        .subquery()
    )
    found: dict[Any, dict[str, Any]] = {}
    for k, v, rn, n in db.session.execute(
        select(ranked.c.k, ranked.c.v, ranked.c.rn, ranked.c.n).where(
            or_(
                ranked.c.rn == (ranked.c.n * 50 + 99) // 100,
                ranked.c.rn == (ranked.c.n * 90 + 99) // 100,
            )
        )
    ):
        entry = found.setdefault(k, {"n": int(n)})
        if rn == (n * 50 + 99) // 100:
            entry["median"] = as_int(v)
        if rn == (n * 90 + 99) // 100:
            entry["p90"] = as_int(v)
    return {k: Quantiles(e["n"], e.get("median"), e.get("p90")) for k, e in found.items()}


def as_int(value: Any) -> int | None:
    return None if value is None else round(float(value))
