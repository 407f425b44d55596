"""`flask demo load` prints the demo schedule's calendar URL; it parses and covers two weeks."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar

from webapp.models import utcnow


def test_the_demo_calendar_url_parses_and_holds_fourteen_days_of_shifts(
    app: Flask, client: FlaskClient
) -> None:
    answer = app.test_cli_runner().invoke(args=["demo", "load"])
    assert answer.exit_code == 0, answer.output
    found = re.search(
        r"on-call calendar \(Core Platform primary\): \S+(/calendar/\S+\.ics)", answer.output
    )
    assert found, answer.output
    feed = client.get(found.group(1))
    assert feed.status_code == 200
    shifts = [
        (e.decoded("dtstart"), e.decoded("dtend"), str(e["summary"]))
        for e in Calendar.from_ical(feed.data).walk("VEVENT")
    ]
    now = utcnow()
    ahead = [s for s in shifts if s[1] > now]
    assert ahead[0][0] <= now
    assert ahead[-1][1] >= now + timedelta(days=14)
    for before, after in itertools.pairwise(ahead):
        assert before[1] == after[0]
    names = {summary for _, _, summary in ahead}
    assert "On call: Han Meimei (Core Platform primary)" in names
    assert len(names) >= 2
    # The override: Han Meimei for 12 hours on a Saturday.
    assert any(
        end - start == timedelta(hours=12) and "Han Meimei" in summary
        for start, end, summary in ahead
    )
