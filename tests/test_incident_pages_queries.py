"""The incident list's read side: tabs, statuses, search, order, keyset pages, counts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests import factories
from webapp.incidents import queries as q
from webapp.incidents import service as incidents
from webapp.incidents.rows import ListRow
from webapp.incidents.service import Actor
from webapp.models import Severity, Source, utcnow


def _numbers(page: q.Page) -> list[int]:
    return [i.number for i in page.rows]


def test_mine_shows_what_i_am_assigned_to_or_responded_to(
    owner: factories.Persona, member: factories.Persona
) -> None:
    account = owner.account
    assigned = factories.incident(account, "assigned", assignees=[member.member])
    factories.incident(account, "someone else's", assignees=[owner.member])
    responded = factories.incident(account, "responded")
    incidents.acknowledge(responded, Actor(member.member, Source.WEB))
    page = q.page(member.member, q.Filters(scope="mine"))
    assert _numbers(page) == [responded.number, assigned.number]


def test_all_for_a_member_is_their_channels_unchannelled_and_their_own(
    owner: factories.Persona, member: factories.Persona
) -> None:
    account = owner.account
    mine_ch = factories.channel(account, [member.member])
    other_ch = factories.channel(account, [owner.member])
    a = factories.incident(account, "in my channel", ch=mine_ch)
    factories.incident(account, "in another channel", ch=other_ch)
    c = factories.incident(account, "no channel")
    d = factories.incident(account, "other channel, mine", ch=other_ch, assignees=[member.member])
    assert _numbers(q.page(member.member, q.Filters(scope="all"))) == [d.number, c.number, a.number]
    assert _numbers(q.page(member.member, q.Filters(scope="channels"))) == [a.number]
    assert len(q.page(owner.member, q.Filters(scope="all")).rows) == 4


def test_statuses_do_not_overlap_and_counts_match(owner: factories.Persona) -> None:
    account, me = owner.account, owner.member
    actor = Actor(me, Source.WEB)
    triggered = factories.incident(account, "t", assignees=[me])
    processing = incidents.acknowledge(factories.incident(account, "p", assignees=[me]), actor)
    snoozed = incidents.snooze(factories.incident(account, "s", assignees=[me]), actor, 60)
    closed = incidents.resolve(factories.incident(account, "c", assignees=[me]), actor)
    expected = {
        "triggered": [triggered.number],
        "processing": [processing.number],
        "snoozed": [snoozed.number],
        "closed": [closed.number],
        "open": [snoozed.number, processing.number, triggered.number],
    }
    for status, numbers in expected.items():
        assert _numbers(q.page(me, q.Filters(status=status))) == numbers, status
    counts = q.counts(me, q.Filters())
    assert dict(counts.values) == {"triggered": 1, "processing": 1, "snoozed": 1, "closed": 1}
    later = utcnow() + timedelta(hours=2)
    assert _numbers(q.page(me, q.Filters(status="triggered"), now=later)) == [
        snoozed.number,
        triggered.number,
    ]


def test_search_matches_title_words_and_the_number(owner: factories.Persona) -> None:
    account, me = owner.account, owner.member
    disk = factories.incident(account, "Disk full on db-01", assignees=[me])
    factories.incident(account, "CPU high", assignees=[me])
    percent = factories.incident(account, "100% packet loss", assignees=[me])
    assert _numbers(q.page(me, q.Filters(q="disk"))) == [disk.number]
    assert _numbers(q.page(me, q.Filters(q=f"#{disk.number}"))) == [disk.number]
    assert _numbers(q.page(me, q.Filters(q="100%"))) == [percent.number]
    assert _numbers(q.page(me, q.Filters(q="0%_"))) == []


def test_severity_sort_puts_critical_first_and_pages_through_every_row(
    owner: factories.Persona,
) -> None:
    account, me = owner.account, owner.member
    made = []
    for n, severity in enumerate([Severity.INFO, Severity.CRITICAL, Severity.WARNING] * 4):
        made.append(factories.incident(account, f"i{n}", severity, assignees=[me]))
    filters = q.Filters(sort="severity")
    seen: list[int] = []
    cursor = None
    while True:
        page = q.page(
            me, filters, after=q.Cursor.decode(cursor.encode()) if cursor else None, limit=5
        )
        seen += _numbers(page)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    ranks = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}
    by_number = {i.number: i for i in made}
    expected = sorted(made, key=lambda i: (ranks[i.severity], -i.number))
    assert seen == [i.number for i in expected]
    assert len(set(seen)) == len(by_number)


def test_newest_pages_never_repeat_or_skip(owner: factories.Persona) -> None:
    account, me = owner.account, owner.member
    made = [factories.incident(account, f"n{n}", assignees=[me]) for n in range(7)]
    first = q.page(me, q.Filters(), limit=3)
    assert first.next_cursor is not None
    second = q.page(me, q.Filters(), after=first.next_cursor, limit=3)
    assert second.next_cursor is not None
    third = q.page(me, q.Filters(), after=second.next_cursor, limit=3)
    assert third.next_cursor is None
    everything = _numbers(first) + _numbers(second) + _numbers(third)
    assert everything == sorted((i.number for i in made), reverse=True)


def test_counts_are_capped(owner: factories.Persona, monkeypatch: pytest.MonkeyPatch) -> None:
    account, me = owner.account, owner.member
    for n in range(4):
        factories.incident(account, f"c{n}", assignees=[me])
    monkeypatch.setattr(q, "COUNT_CAP", 3)
    counts = q.counts(me, q.Filters())
    assert counts.values["triggered"] == 3
    assert counts.label("triggered") == "2+"


def test_a_malformed_cursor_means_the_first_page() -> None:
    assert q.Cursor.decode("nonsense") is None
    assert q.Cursor.decode("7.1.1") is None
    assert q.Cursor.decode("") is None


def test_unknown_filter_values_fall_back_to_defaults() -> None:
    filters = q.Filters.from_args({"scope": "evil", "status": "<b>", "sort": "x", "q": " disk "})
    assert filters == q.Filters(q="disk")
    assert filters.params() == {"q": "disk"}


def test_a_page_row_holds_what_the_incident_holds(
    owner: factories.Persona, member: factories.Persona
) -> None:
    """The list reads plain columns; a row answering an action is made from the incident
    itself (ListRow.of). Both must carry the same channel, assignees (in member order) and
    snooze, or a row would change its looks after a press."""
    account = owner.account
    ch = factories.channel(account, [owner.member], name="Payments on-call")
    both = factories.incident(account, "two people", ch=ch, assignees=[member.member, owner.member])
    alone = factories.incident(account, "nobody", severity=Severity.INFO)
    incidents.snooze(alone, Actor(owner.member, Source.WEB), 30)
    rows = {r.number: r for r in q.page(owner.member, q.Filters(scope="all")).rows}
    assert rows[both.number] == ListRow.of(both)
    assert rows[both.number].channel_name == "Payments on-call"
    first, second = sorted([owner.member, member.member], key=lambda m: m.id)
    assert rows[both.number].assignee_names == (first.name, second.name)
    assert rows[alone.number] == ListRow.of(alone)
    assert rows[alone.number].assignee_names == () and rows[alone.number].channel_name is None
    assert rows[alone.number].is_snoozed(utcnow())
