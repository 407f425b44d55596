"""The same alert posted many times at once opens one incident, and every post gets a 2xx.

Real HTTP against the live server, released together by tests/races.py; the first two run
on SQLite and on PostgreSQL, the last is PostgreSQL's row locks under an HA pair's bursts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from tests.factories import Persona
from tests.races import run_together
from tests.test_alert_intake import ALERTMANAGER_FIRING, source_for
from webapp.extensions import db
from webapp.models import Alert, Delivery, Incident

GENERIC = {
    "title": "disk 91% on kafka-3",
    "severity": "warning",
    "labels": {"host": "kafka-3"},
    "dedup_key": "kafka-3-disk",
}


def _burst(app: Flask, url: str, body: dict[str, Any], times: int) -> list[str]:
    def post(ready: Callable[[], None]) -> str:
        ready()
        response = requests.post(url, json=body, timeout=60)
        return f"{response.status_code} {response.text[:80]}"

    return run_together(app, [post] * times)


def _incidents() -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.count()).select_from(Incident)) or 0)


def test_fifty_identical_generic_alerts_at_once_open_one_incident(
    app: Flask, live_server: str, owner: Persona
) -> None:
    source = source_for(owner)
    answers = _burst(app, f"{live_server}/api/v1/alerts/{source.key}", GENERIC, 50)
    assert [a for a in answers if not a.startswith("200")] == []
    assert _incidents() == 1
    assert db.session.scalar(select(func.count()).select_from(Alert)) == 1


def test_an_alertmanager_group_sent_twice_at_once_opens_one_incident(
    app: Flask, live_server: str, owner: Persona
) -> None:
    source = source_for(owner)
    answers = _burst(app, f"{live_server}/api/v1/alerts/{source.key}", ALERTMANAGER_FIRING, 2)
    assert [a for a in answers if not a.startswith("200")] == []
    assert _incidents() == 1


@pytest.mark.postgres_only
def test_fifty_alertmanager_posts_at_once_on_postgres_open_one_incident_and_queue_once(
    app: Flask, live_server: str, owner: Persona
) -> None:
    source = source_for(owner)
    url = f"{live_server}/api/v1/alerts/{source.key}"
    answers = _burst(app, url, ALERTMANAGER_FIRING, 50) + _burst(app, url, GENERIC, 50)
    assert [a for a in answers if not a.startswith("200")] == []
    assert _incidents() == 2
    per_incident = db.session.execute(
        select(Delivery.incident_id, func.count()).group_by(Delivery.incident_id)
    ).all()
    assert len({count for _id, count in per_incident}) <= 1  # no incident was queued twice
