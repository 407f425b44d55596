"""The figures of the insights page and of "My week", computed in SQL (SQLite and PostgreSQL).

Definitions, stated once:
- Time is the account's local time. Accounts have no timezone setting yet; every account is
  on Beijing time (Asia/Shanghai, UTC+8 all year), as the Lark quota is. `ACCOUNT_ZONE`.
- A period of N days is today and the N-1 local days before it; the previous period is the
  N days before that. Incidents belong to the period they were opened in.
- A page to a person is an incident assigned to them.
- Out of hours: Saturday, Sunday, and weekdays before 09:00 or from 18:00, local time.
  Night: from 22:00 to 08:00 local time.
- Median and p90 are nearest-rank: the value at rank ceil(p * n) of the sorted durations
  (PostgreSQL's percentile_disc; a window ranking on SQLite gives the same value).
- Auto-resolved without anyone acting: closed, and no timeline event has a person as actor.
- An escalation reached a second layer when the incident has an `escalated` event (layer 0
  is told at once; each escalated event tells the next layer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, exists, func, not_, select

from webapp.extensions import db
from webapp.insights import sql
from webapp.insights.sql import Quantiles
from webapp.models import EventKind, Incident, IncidentEvent, Member, Severity, incident_assignees

ACCOUNT_ZONE = ZoneInfo("Asia/Shanghai")
PERIODS = (7, 30, 90)
TOP_RULES = 10


@dataclass(frozen=True)
class Period:
    days: int
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive (tomorrow's local midnight)
    previous_start: datetime
    first_day: date

    @property
    def dates(self) -> list[date]:
        return [self.first_day + timedelta(days=i) for i in range(self.days)]


def period(days: int, now: datetime, zone: ZoneInfo = ACCOUNT_ZONE) -> Period:
    if days not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS} days")
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, time(), zone)
    end = datetime.combine(today + timedelta(days=1), time(), zone)
    previous = datetime.combine(first - timedelta(days=days), time(), zone)
    return Period(days, start.astimezone(ZoneInfo("UTC")), end, previous, first)


# -- the figures ------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    account_id: int
    period: Period
    channel_id: int | None = None
    zone: ZoneInfo = ACCOUNT_ZONE

    def where(self, start: datetime | None = None, end: datetime | None = None) -> list[Any]:
        found = [
            Incident.account_id == self.account_id,
            Incident.created_at >= (start or self.period.start),
            Incident.created_at < (end or self.period.end),
        ]
        if self.channel_id is not None:
            found.append(Incident.channel_id == self.channel_id)
        return found


def incidents_per_day(scope: Scope) -> dict[date, dict[Severity, int]]:
    day = sql.local_part(Incident.created_at, "day", scope.zone, scope.period.start)
    days = {d: {s: 0 for s in Severity} for d in scope.period.dates}
    rows = db.session.execute(
        select(day, Incident.severity, func.count())
        .where(*scope.where())
        .group_by(day, Incident.severity)
    )
    for text, severity, n in rows:
        days[date.fromisoformat(str(text))][Severity(severity)] = int(n)
    return days


@dataclass(frozen=True)
class ResponseTimes:
    acknowledge: Quantiles
    resolve: Quantiles
    previous_acknowledge: Quantiles
    previous_resolve: Quantiles


def _together(where: list[Any], values: dict[str, Any]) -> dict[str, Quantiles]:
    """Median and p90 of several values over the same rows: one scan on PostgreSQL, where
    an ordered-set aggregate leaves out nulls and the two percentiles share one sort."""
    if not sql.postgres():
        found = {k: sql.quantiles(Incident.account_id, v, where) for k, v in values.items()}
        return {k: next(iter(q.values()), Quantiles()) for k, q in found.items()}
    columns = []
    for value in values.values():
        columns += [
            func.count(value),
            func.percentile_disc(0.5).within_group(value),
            func.percentile_disc(0.9).within_group(value),
        ]
    row = db.session.execute(select(*columns).where(*where)).one()
    return {
        k: Quantiles(int(row[3 * i]), sql.as_int(row[3 * i + 1]), sql.as_int(row[3 * i + 2]))
        if row[3 * i]
        else Quantiles()
        for i, k in enumerate(values)
    }


def response_times(scope: Scope) -> ResponseTimes:
    values = {
        "ack": sql.seconds(Incident.acknowledged_at, Incident.created_at),
        "res": sql.seconds(Incident.closed_at, Incident.created_at),
    }
    now = _together(scope.where(), values)
    before = _together(scope.where(scope.period.previous_start, scope.period.start), values)
    return ResponseTimes(now["ack"], now["res"], before["ack"], before["res"])


def _events_since(scope: Scope, kind: str) -> list[ColumnElement[bool]]:
    """Events of one kind that can belong to the period's incidents: an incident's events are
    never older than it, so the scan starts at the period (ix_incident_event_kind_created)."""
    return [IncidentEvent.kind == kind, IncidentEvent.created_at >= scope.period.start]


def acknowledgement_sources(scope: Scope) -> dict[str, int]:
    """Acknowledgements of the period's incidents by where they came from."""
    rows = db.session.execute(
        select(IncidentEvent.source, func.count())
        .join(Incident, Incident.id == IncidentEvent.incident_id)
        .where(*scope.where(), *_events_since(scope, EventKind.ACKNOWLEDGED))
        .group_by(IncidentEvent.source)
    )
    found = {"card": 0, "web": 0, "api": 0}
    for source, n in rows:
        key = getattr(source, "value", source)
        found[key] = found.get(key, 0) + int(n)
    return found


@dataclass(frozen=True)
class NoisyRule:
    title: str
    count: int
    auto_resolved: int
    median_duration: int | None

    @property
    def auto_share(self) -> float:
        return self.auto_resolved / self.count if self.count else 0.0


def _nobody_acted() -> ColumnElement[bool]:
    # A probe per incident into the events people made (ix_incident_event_by_person, index
    # only); joining the distinct set of acted-on incidents measured twice as slow.
    by_person = exists().where(
        IncidentEvent.incident_id == Incident.id, IncidentEvent.actor_id.is_not(None)
    )
    return and_(Incident.closed_at.is_not(None), not_(by_person))


def noisiest_rules(scope: Scope, limit: int = TOP_RULES) -> list[NoisyRule]:
    """The alert rules (incident titles, as the alert intake names them) opening the most."""
    auto = func.sum(case((_nobody_acted(), 1), else_=0))
    rows = db.session.execute(
        select(Incident.title, func.count(), auto)
        .where(*scope.where())
        .group_by(Incident.title)
        .order_by(func.count().desc(), Incident.title)
        .limit(limit)
    ).all()
    titles = [r[0] for r in rows]
    durations = sql.quantiles(
        Incident.title,
        sql.seconds(Incident.closed_at, Incident.created_at),
        [*scope.where(), Incident.title.in_(titles)],
    )
    return [
        NoisyRule(t, int(n), int(a or 0), durations.get(t, Quantiles()).median) for t, n, a in rows
    ]


@dataclass(frozen=True)
class PersonLoad:
    name: str
    pages: int
    out_of_hours: int


def out_of_hours_pages(scope: Scope) -> list[PersonLoad]:
    late = func.sum(
        case((sql.out_of_hours(Incident.created_at, scope.zone, scope.period.start), 1), else_=0)
    )
    rows = db.session.execute(
        select(Member.name, func.count(), late)
        .select_from(incident_assignees)
        .join(Incident, Incident.id == incident_assignees.c.incident_id)
        .join(Member, Member.id == incident_assignees.c.member_id)
        .where(*scope.where())
        .group_by(Member.id, Member.name)
        .order_by(late.desc(), func.count().desc(), Member.name)
    )
    return [PersonLoad(name, int(n), int(o or 0)) for name, n, o in rows]


@dataclass(frozen=True)
class Escalation:
    number: int
    title: str
    layers: int  # layers told, counting the first


def escalations(scope: Scope, limit: int = 10) -> tuple[int, list[Escalation]]:
    """How many of the period's incidents escalated past the first layer, and the worst ones."""
    told = func.count(IncidentEvent.id) + 1
    base = (
        select(Incident.number, Incident.title, told)
        .join(IncidentEvent, IncidentEvent.incident_id == Incident.id)
        .where(*scope.where(), *_events_since(scope, EventKind.ESCALATED))
        .group_by(Incident.id, Incident.number, Incident.title)
    )
    total = db.session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    rows = db.session.execute(base.order_by(told.desc(), Incident.number.desc()).limit(limit))
    return int(total), [Escalation(int(n), t, int(k)) for n, t, k in rows]


@dataclass
class Insights:
    scope: Scope
    total: int
    per_day: dict[date, dict[Severity, int]]
    times: ResponseTimes
    sources: dict[str, int]
    rules: list[NoisyRule]
    people: list[PersonLoad]
    escalated: int
    escalations: list[Escalation] = field(default_factory=list)


def insights(account_id: int, days: int, now: datetime, channel_id: int | None = None) -> Insights:
    """Everything the insights page shows, for one account, period and optional channel."""
    scope = Scope(account_id, period(days, now), channel_id)
    per_day = incidents_per_day(scope)
    escalated, worst = escalations(scope)
    return Insights(
        scope=scope,
        total=sum(sum(v.values()) for v in per_day.values()),
        per_day=per_day,
        times=response_times(scope),
        sources=acknowledgement_sources(scope),
        rules=noisiest_rules(scope),
        people=out_of_hours_pages(scope),
        escalated=escalated,
        escalations=worst,
    )


@dataclass(frozen=True)
class MyWeek:
    pages: int
    acknowledged: int
    median_acknowledge: int | None
    night: int


def my_week(member: Member, now: datetime) -> MyWeek:
    """The member's last 7 local days: pages (incidents assigned), what they acknowledged."""
    scope = Scope(member.account_id, period(7, now))
    mine = [
        *scope.where(),
        incident_assignees.c.incident_id == Incident.id,
        incident_assignees.c.member_id == member.id,
    ]
    acked_by_me = Incident.acknowledged_by_id == member.id
    pages, acked, late = db.session.execute(
        select(
            func.count(),
            func.sum(case((acked_by_me, 1), else_=0)),
            func.sum(case((sql.night(Incident.created_at, scope.zone, now), 1), else_=0)),
        ).where(*mine)
    ).one()
    times = sql.quantiles(
        Incident.account_id,
        sql.seconds(Incident.acknowledged_at, Incident.created_at),
        [*mine, acked_by_me],
    )
    median = times.get(member.account_id, Quantiles()).median
    return MyWeek(int(pages), int(acked or 0), median, int(late or 0))
