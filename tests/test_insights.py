"""Insights figures on a small known data set (tests/insights_support.py), at a stated moment."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from tests import factories, insights_support
from tests.insights_support import NOW, at
from webapp.insights import queries
from webapp.insights.queries import NoisyRule, PersonLoad
from webapp.insights.sql import Quantiles
from webapp.models import Severity

pytestmark = pytest.mark.now(NOW)


@pytest.fixture
def week(
    clock: time_machine.Traveller, owner: factories.Persona, member: factories.Persona
) -> insights_support.Week:
    return insights_support.build(clock, owner, member)


def figures(
    week: insights_support.Week, days: int = 7, channel: int | None = None
) -> queries.Insights:
    return queries.insights(week.owner.account.id, days, at("2026-06-15T10:00:00"), channel)


def test_a_period_is_today_and_the_local_days_before_it() -> None:
    p = queries.period(7, at("2026-06-15T00:30:00"))
    assert p.first_day == date(2026, 6, 9)
    assert p.start == at("2026-06-09T00:00:00")
    assert p.end == at("2026-06-16T00:00:00")
    assert p.previous_start == at("2026-06-02T00:00:00")
    with pytest.raises(ValueError, match="7, 30, 90"):
        queries.period(14, at("2026-06-15T00:30:00"))


def test_incidents_per_day_count_each_severity_on_its_local_day(
    week: insights_support.Week,
) -> None:
    got = figures(week)
    assert got.total == 5
    counts = {d: {s: n for s, n in v.items() if n} for d, v in got.per_day.items()}
    assert counts == {
        date(2026, 6, 9): {},
        date(2026, 6, 10): {Severity.WARNING: 1},
        date(2026, 6, 11): {},
        date(2026, 6, 12): {Severity.INFO: 1},
        date(2026, 6, 13): {Severity.WARNING: 1},
        # 03:00 Beijing on the 14th is still the 13th in UTC: the local day counts.
        date(2026, 6, 14): {Severity.CRITICAL: 1},
        date(2026, 6, 15): {Severity.CRITICAL: 1},
    }


def test_median_and_p90_sit_beside_the_previous_period(week: insights_support.Week) -> None:
    times = figures(week).times
    assert times.acknowledge == Quantiles(3, 600, 900)  # 5, 10, 15 minutes
    assert times.resolve == Quantiles(3, 1800, 3900)  # 20, 30, 65 minutes
    assert times.previous_acknowledge == Quantiles(1, 1200, 1200)
    assert times.previous_resolve == Quantiles(1, 7200, 7200)


def test_acknowledgements_are_counted_by_where_they_came_from(week: insights_support.Week) -> None:
    assert figures(week).sources == {"card": 1, "web": 1, "api": 1}


def test_the_noisiest_rules_show_count_auto_resolved_share_and_median_duration(
    week: insights_support.Week,
) -> None:
    rules = figures(week).rules
    assert rules == [
        NoisyRule("disk full", 3, 0, 1800),
        NoisyRule("cpu high", 2, 1, 1200),  # the one resolved by the system, nobody acting
    ]
    assert rules[1].auto_share == 0.5


def test_out_of_hours_pages_are_counted_per_person_in_beijing_time(
    week: insights_support.Week,
) -> None:
    me, boss = week.member.member.name, week.owner.member.name
    # Member: Sunday 03:00 out of hours; Monday 09:30 and Wednesday 14:00 in hours.
    # Owner: Saturday noon is out of hours (the weekend).
    assert figures(week).people == [PersonLoad(me, 3, 1), PersonLoad(boss, 1, 1)]


def test_escalations_past_the_first_layer_are_counted_with_the_layers_told(
    week: insights_support.Week,
) -> None:
    got = figures(week)
    assert got.escalated == 1
    assert [(e.number, e.title, e.layers) for e in got.escalations] == [
        (week.escalated.number, "cpu high", 3)
    ]


def test_a_channel_narrows_every_figure(week: insights_support.Week) -> None:
    got = figures(week, channel=week.channel.id)
    assert got.total == 1
    assert got.rules == [NoisyRule("cpu high", 1, 0, None)]
    assert got.sources == {"card": 0, "web": 0, "api": 0}
    assert got.times.acknowledge == Quantiles()


def test_thirty_days_take_in_the_earlier_incident(week: insights_support.Week) -> None:
    got = figures(week, days=30)
    assert got.total == 6
    assert got.times.acknowledge == Quantiles(4, 600, 1200)
    assert got.times.previous_acknowledge == Quantiles()


def test_another_account_sees_none_of_it(
    week: insights_support.Week, outsider: factories.Persona
) -> None:
    got = queries.insights(outsider.account.id, 90, at("2026-06-15T10:00:00"))
    assert got.total == 0
    assert got.rules == [] and got.people == [] and got.escalated == 0


def test_my_week_counts_pages_acknowledgements_and_night_pages(
    week: insights_support.Week,
) -> None:
    mine = queries.my_week(week.member.member, at("2026-06-15T10:00:00"))
    # Pages: Monday 09:30 (acknowledged by the member in 5 min), Sunday 03:00 (night,
    # acknowledged by the owner), Wednesday 14:00 (open).
    assert mine == queries.MyWeek(pages=3, acknowledged=1, median_acknowledge=300, night=1)
