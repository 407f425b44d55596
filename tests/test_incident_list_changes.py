"""The list's change detector: an unchanged list is answered from one index probe, and
every change the region would show still reaches the next refresh, however it arrives."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from babel.dates import format_timedelta
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import event, update

from tests import factories
from tests.incident_pages_support import enter, integration
from webapp.extensions import db
from webapp.i18n import ago, ago_reads_until
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.models import Incident, LarkIntegration, Source, Status, utcnow

HX = {"HX-Request": "true"}


def opened(account, title: str, **kw) -> Incident:  # type: ignore[no-untyped-def]
    made = factories.incident(account, title, **kw)
    made.created_at = utcnow() - timedelta(hours=3)  # reads "3 hours ago" throughout
    db.session.commit()
    return made


def refresh(client: FlaskClient, lark: LarkIntegration, tag: str | None, query: str = "scope=all"):  # type: ignore[no-untyped-def]
    headers = {**HX, **({"If-None-Match": tag} if tag else {})}
    return client.get(f"/lark/{lark.key}/incidents?{query}", headers=headers)


def statements_of(client: FlaskClient, lark: LarkIntegration, tag: str) -> list[str]:
    seen: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert refresh(client, lark, tag).status_code == 304
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return seen


def test_an_unchanged_list_is_answered_from_the_change_probe_alone(
    client: FlaskClient, owner: factories.Persona
) -> None:
    lark = integration(owner.account)
    enter(client, owner, lark)
    for n in range(5):
        opened(owner.account, f"db-{n} is down")
    tag = refresh(client, lark, None).headers["ETag"]
    statements_of(client, lark, tag)  # the first 304 after the render
    later = statements_of(client, lark, tag)
    touching = [s for s in later if "incident" in s]
    assert len(touching) == 1
    assert "updated_at" in touching[0]
    assert "snoozed_until" not in touching[0]  # not the counts and rows of a full look


def test_a_change_committed_late_with_an_earlier_time_still_changes_the_tag(
    client: FlaskClient, owner: factories.Persona
) -> None:
    """A transaction stamps updated_at when it changes the row and commits a moment later:
    a look in between must not hide the change behind a newer maximum."""
    lark = integration(owner.account)
    enter(client, owner, lark)
    early = opened(owner.account, "db-01 is down")
    opened(owner.account, "db-02 is down")
    tag = refresh(client, lark, None).headers["ETag"]
    assert refresh(client, lark, tag).status_code == 304
    db.session.execute(
        update(Incident)
        .where(Incident.id == early.id)
        .values(
            status=Status.PROCESSING,
            version=Incident.version + 1,
            updated_at=utcnow() - timedelta(seconds=20),
        )
    )
    db.session.commit()
    after = refresh(client, lark, tag)
    assert after.status_code == 200
    assert after.headers["ETag"] != tag


def test_an_action_anywhere_in_the_account_reaches_the_next_refresh(
    client: FlaskClient, owner: factories.Persona
) -> None:
    lark = integration(owner.account)
    enter(client, owner, lark)
    shown = opened(owner.account, "db-01 is down")
    tag = refresh(client, lark, None).headers["ETag"]
    assert refresh(client, lark, tag).status_code == 304
    incidents.resolve(shown, Actor(owner.member, Source.CARD))
    after = refresh(client, lark, tag)
    assert after.status_code == 200
    assert "db-01 is down" not in after.text  # the default filter shows open incidents


def test_joining_a_channel_changes_what_my_channels_shows(
    client: FlaskClient, owner: factories.Persona, member: factories.Persona
) -> None:
    lark = integration(owner.account)
    enter(client, member, lark)
    ch = factories.channel(owner.account, [owner.member], name="Payments")
    opened(owner.account, "payments-api is down", ch=ch)
    first = refresh(client, lark, None, "scope=channels")
    assert "payments-api is down" not in first.text
    tag = first.headers["ETag"]
    assert refresh(client, lark, tag, "scope=channels").status_code == 304
    ch.members.append(member.member)
    db.session.commit()
    after = refresh(client, lark, tag, "scope=channels")
    assert after.status_code == 200
    assert "payments-api is down" in after.text


def test_a_snooze_running_out_off_the_page_moves_the_counts(
    client: FlaskClient, owner: factories.Persona, clock: time_machine.Traveller
) -> None:
    """Filtered to Triggered, a snoozed incident is not on the page, but waking up it
    joins it: the refresh after the snooze ends is a new list, with nothing changed in it."""
    lark = integration(owner.account)
    enter(client, owner, lark)
    opened(owner.account, "db-01 is down")
    sleeper = opened(owner.account, "cache-02 is slow")
    incidents.snooze(sleeper, Actor(owner.member, Source.WEB), 30)
    sleeper.snoozed_until = utcnow() + timedelta(seconds=40)  # wakes before the next full look
    db.session.commit()
    query = "scope=all&status=triggered"
    first = refresh(client, lark, None, query)
    assert "cache-02 is slow" not in first.text
    tag = first.headers["ETag"]
    clock.shift(timedelta(seconds=20))
    assert refresh(client, lark, tag, query).status_code == 304
    clock.shift(timedelta(seconds=21))
    after = refresh(client, lark, tag, query)
    assert after.status_code == 200
    assert "cache-02 is slow" in after.text


def test_a_row_whose_age_rounds_on_is_drawn_again_at_once(
    client: FlaskClient, owner: factories.Persona, clock: time_machine.Traveller
) -> None:
    lark = integration(owner.account)
    enter(client, owner, lark)
    row = factories.incident(owner.account, "db-01 is down")
    row.created_at = utcnow() - timedelta(minutes=50, seconds=10)
    db.session.commit()
    first = refresh(client, lark, None)
    assert "50 minutes ago" in first.text
    clock.shift(timedelta(seconds=5))
    assert refresh(client, lark, first.headers["ETag"]).status_code == 304
    clock.shift(timedelta(seconds=20))  # 50:35 rounds to 51
    after = refresh(client, lark, first.headers["ETag"])
    assert after.status_code == 200
    assert "51 minutes ago" in after.text


@pytest.mark.parametrize("locale", ["en", "zh"])
def test_an_age_reads_the_same_until_the_moment_given(locale: str) -> None:
    """Checked against babel itself at random ages from seconds to years."""
    rng = random.Random(20261202)
    now = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)

    def words(when: datetime, at: datetime) -> str:
        delta = min(when - at, timedelta(microseconds=-1))
        return format_timedelta(delta, add_direction=True, locale=locale)

    lasting = 0
    for _ in range(3000):
        span = rng.choice([120, 7200, 40 * 86400, 800 * 86400])
        when = now - timedelta(seconds=rng.uniform(0, span))
        until = ago_reads_until(when, now)
        if until <= now:
            continue
        lasting += 1
        for fraction in (0.25, 0.5, 0.9, 1.0):
            assert words(when, now + (until - now) * fraction) == words(when, now)
    assert lasting > 2000  # most ages hold for a while, so refreshes are probes


@pytest.mark.parametrize("locale", ["en", "zh"])
def test_the_remembered_words_of_an_age_are_babel_s(app: Flask, locale: str) -> None:
    """`ago` looks its words up by (language, unit, count): at random ages, and at the edges
    where babel changes unit (50.8 minutes, 51 minutes), they are babel's own."""
    rng = random.Random(20261203)
    now = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)
    ages = [rng.uniform(0, rng.choice([120, 7200, 40 * 86400, 800 * 86400])) for _ in range(3000)]
    ages += [0, 0.4, 1, 50.5, 3049, 3050.2, 3060, 3061, 73439.9, 73440.1]
    with app.test_request_context(), force_locale(locale):
        for age in ages:
            when = now - timedelta(seconds=age)
            delta = min(when - now, timedelta(microseconds=-1))
            expected = format_timedelta(delta, add_direction=True, locale=locale)
            assert ago(when, now) == expected, age


def test_an_age_under_a_minute_never_stands(client: FlaskClient) -> None:
    now = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)
    assert ago_reads_until(now - timedelta(seconds=30), now) <= now
