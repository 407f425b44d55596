""" "Silence…" on the incident card and page: a silence from the stable labels, extended on a
second press, shown by amtool, and refused to whoever may not act."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import factories
from tests.factories import Persona
from tests.incident_pages_support import csrf_from, enter, integration
from tests.test_card_callbacks import demo, send_card  # noqa: F401 - the fixture is used
from tests.test_silences_amtool import amtool  # noqa: F401 - the fixture is used
from webapp.extensions import db
from webapp.incidents.service import Actor, NoSeat
from webapp.models import Incident, LarkIntegration, Silence, Source, utcnow
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox
from webapp.silences import quick

LABELS = {
    "alertname": "DiskFull",
    "instance": "db-01",
    "severity": "critical",
    "value": "97.3%",
    "bytes_free": "1024",
    "since": "2026-06-15T01:58:00Z",
    "detail": "x" * 80,
}


@pytest.mark.parametrize(
    ("value", "volatile"),
    [
        ("97.3", True),
        ("97.3%", True),
        ("-4", True),
        ("1718416680", True),
        ("2026-06-15T01:58:00Z", True),
        ("at 10:31:02", True),
        ("y" * 65, True),
        ("db-01", False),
        ("critical", False),
        ("node-exporter:9100", False),
    ],
)
def test_volatile_values_are_numbers_timestamps_and_long_text(value: str, volatile: bool) -> None:
    assert quick.volatile(value) is volatile


def test_the_silence_keeps_only_the_stable_labels(owner: Persona) -> None:
    incident = factories.incident(owner.account, labels=LABELS)
    assert [str(m) for m in quick.stable_matchers(incident)] == [
        'alertname="DiskFull"',
        'instance="db-01"',
        'severity="critical"',
    ]


def test_the_card_silences_for_2h_and_a_second_press_extends_it(
    demo: LarkIntegration,  # noqa: F811
    lark: LarkSandbox,
    owner: Persona,
    amtool: Callable[..., str],  # noqa: F811
) -> None:
    incident = factories.incident(owner.account, labels=LABELS)
    message_id = send_card(demo, incident, seed.WANG_FANG.open_id)

    first = lark.click(message_id, seed.WANG_FANG.open_id, button="2 h")

    assert first.ok, first.error
    assert first.toast and "silenced until" in first.toast["content"]
    [made] = db.session.scalars(select(Silence))
    assert made.incident_id == incident.id and made.created_by == owner.member.name
    assert lasts(made) == 2 * 3600
    assert amtool("silence", "query", "-q", "alertname=DiskFull").split() == [made.id]
    db.session.refresh(incident)
    assert incident.silence_id == made.id
    assert "Silenced until" in lark.message(message_id).content

    again = lark.click(message_id, seed.WANG_FANG.open_id, button="2 h")

    assert again.ok, again.error
    db.session.refresh(made)
    assert [s.id for s in db.session.scalars(select(Silence))] == [made.id]
    assert lasts(made) == 4 * 3600


def test_the_incident_page_silences_too(client: FlaskClient, owner: Persona) -> None:
    lark = integration(owner.account)
    incident = factories.incident(owner.account, labels=LABELS)
    enter(client, owner, lark)
    base = f"/lark/{lark.key}/incidents/{incident.number}"
    page = client.get(base)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Silence…" in html

    done = client.post(
        f"{base}/silence",
        data={"csrf_token": csrf_from(html), "minutes": "480", "version": incident.version},
        follow_redirects=True,
    )

    assert done.status_code == 200
    [made] = db.session.scalars(select(Silence))
    assert made.ends_at - utcnow() > timedelta(hours=7, minutes=59)
    assert "Silenced until" in done.get_data(as_text=True)
    assert f"Silenced from incident #{incident.number}" in done.get_data(as_text=True)


def test_a_member_without_a_seat_cannot_silence_from_the_card(owner: Persona) -> None:
    incident = factories.incident(owner.account, labels=LABELS)
    seatless = factories.persona("member", owner.account, seat=False)
    with pytest.raises(NoSeat, match="license seat"):
        quick.silence_incident(incident, Actor(seatless.member, Source.CARD), 120)
    assert db.session.scalars(select(Silence)).all() == []
    assert db.session.get(Incident, incident.id).silence_id is None


def lasts(silence: Silence) -> int:
    """Whole seconds: the start is the moment the service saved it, a moment after the press."""
    return round((silence.ends_at - silence.starts_at).total_seconds())
