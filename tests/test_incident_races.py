"""Two people acting at the same moment, on PostgreSQL with its row locks."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select

from tests import factories
from tests.factories import Persona
from tests.races import run_together
from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.models import Incident, IncidentEvent, Member, Source, Status

pytestmark = pytest.mark.postgres_only

Verb = Callable[[Incident, Actor], Incident]


def race(app: Flask, incident_id: int, attempts: list[tuple[int, Verb]]) -> list[str]:
    """Each (member id, verb) in its own thread and app context, released together."""

    def attempt(member_id: int, verb: Verb) -> Callable[[Callable[[], None]], str]:
        def call(ready: Callable[[], None]) -> str:
            incident = db.session.get(Incident, incident_id)
            member = db.session.get(Member, member_id)
            assert incident is not None and member is not None
            ready()
            try:
                verb(incident, Actor(member, Source.WEB))
            except incidents.IncidentError as exc:
                return f"{exc.code}: {exc}"
            return "ok"

        return call

    return run_together(app, [attempt(member_id, verb) for member_id, verb in attempts])


def kinds(incident_id: int) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(IncidentEvent.kind)
            .where(IncidentEvent.incident_id == incident_id)
            .order_by(IncidentEvent.id)
        )
    )


def test_two_acknowledgements_at_once_give_one_acknowledgement_and_one_clear_refusal(
    app: Flask, owner: Persona, member: Persona
) -> None:
    for _ in range(5):  # a few rounds, so the threads really overlap at least once
        incident = factories.incident(owner.account)
        outcomes = race(
            app,
            incident.id,
            [(owner.member.id, incidents.acknowledge), (member.member.id, incidents.acknowledge)],
        )
        assert sorted(o.split(":")[0] for o in outcomes) == ["invalid_transition", "ok"]
        refusal = next(o for o in outcomes if o != "ok")
        assert "Already acknowledged by" in refusal
        assert kinds(incident.id) == ["triggered", "acknowledged"]


def test_an_acknowledgement_racing_a_resolution_never_reopens_the_incident(
    app: Flask, owner: Persona, member: Persona
) -> None:
    for _ in range(5):
        incident = factories.incident(owner.account)
        outcomes = race(
            app,
            incident.id,
            [(owner.member.id, incidents.acknowledge), (member.member.id, incidents.resolve)],
        )
        db.session.expire_all()
        final = db.session.get(Incident, incident.id)
        assert final is not None
        assert final.status is Status.CLOSED, outcomes
        history = kinds(incident.id)
        assert history.count("resolved") == 1
        # Either the acknowledgement came first (then the resolution), or it was refused.
        assert history[-1] == "resolved" or outcomes[0].startswith("invalid_transition")
