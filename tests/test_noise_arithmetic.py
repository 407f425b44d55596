"""The noise rules' arithmetic at chosen instants: group keys and windows, inhibition
matchers, flapping counts, storm thresholds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from webapp.incidents import storms
from webapp.intake import flapping, grouping, inhibition
from webapp.intake.flapping import FlapRule
from webapp.intake.grouping import GroupRule

T0 = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)
BY_SERVICE = GroupRule(("alertname", "service"), timedelta(minutes=30))


def test_alerts_with_equal_group_labels_share_a_key_whatever_their_instance() -> None:
    one = grouping.group_key(
        BY_SERVICE, 1, {"alertname": "Down", "service": "api", "instance": "a"}
    )
    two = grouping.group_key(
        BY_SERVICE, 1, {"alertname": "Down", "service": "api", "instance": "b"}
    )
    other = grouping.group_key(BY_SERVICE, 1, {"alertname": "Down", "service": "db"})
    assert one == two != other
    assert grouping.group_key(BY_SERVICE, 2, {"alertname": "Down", "service": "api"}) != one


def test_a_missing_label_groups_alone_unless_the_rule_counts_it() -> None:
    labels = {"alertname": "Down"}
    assert grouping.group_key(BY_SERVICE, 1, labels) is None
    counting = GroupRule(BY_SERVICE.labels, BY_SERVICE.window, missing_counts=True)
    key = grouping.group_key(counting, 1, labels)
    assert key is not None
    assert grouping.group_key(counting, 1, {"alertname": "Down", "instance": "x"}) == key
    assert grouping.group_key(counting, 1, {"alertname": "Down", "service": ""}) == key
    assert grouping.group_key(None, 1, labels) is None


def test_the_window_counts_from_the_last_merge_or_else_the_creation() -> None:
    assert grouping.window_open(BY_SERVICE, T0, None, T0 + timedelta(minutes=29))
    assert not grouping.window_open(BY_SERVICE, T0, None, T0 + timedelta(minutes=30))
    merged = T0 + timedelta(minutes=25)
    assert grouping.window_open(BY_SERVICE, T0, merged, T0 + timedelta(minutes=54))


def test_counting_groups_over_stored_alerts() -> None:
    alerts = [
        (T0 + timedelta(minutes=i), f"fp{i}", {"alertname": "Down", "service": "api"})
        for i in range(20)
    ]
    alerts.append((T0 + timedelta(minutes=90), "fp-late", {"alertname": "Down", "service": "api"}))
    alerts.append((T0, "fp-alone", {"alertname": "Other"}))
    alerts.append((T0 + timedelta(minutes=1), "fp-alone", {"alertname": "Other"}))
    assert grouping.count_groups(BY_SERVICE, 1, sorted(alerts, key=lambda a: a[0])) == 3


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("severity=critical", {"severity": "critical"}, True),
        ("severity!=critical", {"severity": "warning"}, True),
        ("severity=~warning|info", {"severity": "info"}, True),
        ("severity=~warn", {"severity": "warning"}, False),  # anchored, as in Alertmanager
        ('alertname!~"Node.*"', {"alertname": "NodeDown"}, False),
        ("cluster=", {}, True),  # a missing label reads as empty
    ],
)
def test_matchers_read_as_alertmanager_reads_them(
    text: str, labels: dict[str, str], expected: bool
) -> None:
    assert inhibition.parse_matcher(text).matches(labels) is expected


@pytest.mark.parametrize("text", ["no operator", "=value", "a=~(unclosed", "a=~" + "x" * 300])
def test_a_matcher_that_does_not_read_is_refused(text: str) -> None:
    with pytest.raises(inhibition.BadMatcher):
        inhibition.parse_matcher(text)


def test_a_node_down_inhibits_the_warnings_of_its_cluster_only() -> None:
    rule = inhibition.parse_rule(
        {"source": ["alertname=NodeDown"], "target": ["severity=warning"], "equal": ["cluster"]}
    )
    firing = [(41, {"alertname": "NodeDown", "cluster": "east"})]
    east = {"alertname": "DiskSlow", "severity": "warning", "cluster": "east"}
    west = {**east, "cluster": "west"}
    assert inhibition.inhibitor([rule], east, firing) == 41
    assert inhibition.inhibitor([rule], west, firing) is None
    assert inhibition.inhibitor([rule], {**east, "severity": "critical"}, firing) is None


def test_the_fourth_change_within_an_hour_starts_flapping() -> None:
    rule = FlapRule()
    changes: list[str] = []
    for minute in (0, 10, 20):
        changes = flapping.remember(changes, T0 + timedelta(minutes=minute), rule)
        assert not flapping.starts_flapping(changes, rule)
    changes = flapping.remember(changes, T0 + timedelta(minutes=59), rule)
    assert flapping.starts_flapping(changes, rule)


def test_changes_older_than_the_window_are_forgotten() -> None:
    rule = FlapRule()
    changes: list[str] = []
    for minute in (0, 10, 20, 61):
        changes = flapping.remember(changes, T0 + timedelta(minutes=minute), rule)
    assert not flapping.starts_flapping(changes, rule)
    assert len(changes) == 3


def test_the_mute_ends_at_its_moment() -> None:
    until = T0 + timedelta(minutes=120)
    assert flapping.muted(until, T0 + timedelta(minutes=119))
    assert not flapping.muted(until, until)
    assert not flapping.muted(None, T0)


def test_each_storm_threshold_is_crossed_once() -> None:
    assert storms.crossed(0, 9, [10, 100, 1000]) == []
    assert storms.crossed(0, 10, [10, 100, 1000]) == [10]
    assert storms.crossed(10, 150, [1000, 10, 100]) == [100]
    assert storms.crossed(100, 150, [10, 100, 1000]) == []
