"""The incident service: transitions, rights, the timeline, and refusals that change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.factories import Persona
from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.models import EventKind, Incident, IncidentEvent, LicenseRefusal, Source, Status


def events_of(incident: Incident) -> list[str]:
    rows = db.session.scalars(
        select(IncidentEvent.kind)
        .where(IncidentEvent.incident_id == incident.id)
        .order_by(IncidentEvent.id)
    )
    return list(rows)


def test_a_new_incident_gets_the_next_number_of_its_account(
    owner: Persona, outsider: Persona
) -> None:
    first = factories.incident(owner.account)
    second = factories.incident(owner.account)
    elsewhere = factories.incident(outsider.account)
    assert (first.number, second.number, elsewhere.number) == (1, 2, 1)
    assert events_of(first) == ["triggered"]


def test_acknowledging_moves_to_processing_and_writes_one_event(owner: Persona) -> None:
    incident = factories.incident(owner.account)
    version = incident.version
    incidents.acknowledge(incident, Actor(owner.member, Source.WEB))
    db.session.refresh(incident)
    assert incident.status is Status.PROCESSING
    assert incident.acknowledged_by == owner.member
    assert incident.version == version + 1
    assert owner.member in incident.responders
    assert events_of(incident) == ["triggered", "acknowledged"]


def test_a_second_acknowledgement_names_who_acknowledged_and_changes_nothing(
    owner: Persona, member: Persona
) -> None:
    incident = factories.incident(owner.account)
    incidents.acknowledge(incident, Actor(owner.member, Source.CARD))
    version = db.session.get(Incident, incident.id).version
    with pytest.raises(incidents.InvalidTransition) as refused:
        incidents.acknowledge(incident, Actor(member.member, Source.WEB))
    assert f"Already acknowledged by {owner.member.name}" in str(refused.value)
    db.session.expire_all()
    assert db.session.get(Incident, incident.id).version == version
    assert events_of(incident) == ["triggered", "acknowledged"]


def test_a_stale_version_is_refused_with_what_happened(owner: Persona, member: Persona) -> None:
    incident = factories.incident(owner.account)
    seen = incident.version
    incidents.comment(incident, Actor(owner.member, Source.WEB), "looking")
    with pytest.raises(incidents.StaleVersion) as refused:
        incidents.resolve(incident, Actor(member.member, Source.WEB), expected_version=seen)
    assert f"commented by {owner.member.name}" in str(refused.value)
    assert db.session.get(Incident, incident.id).status is Status.TRIGGERED


def test_resolve_then_reopen_goes_back_to_triggered(owner: Persona) -> None:
    incident = factories.incident(owner.account)
    actor = Actor(owner.member, Source.WEB)
    incidents.acknowledge(incident, actor)
    incidents.resolve(incident, actor)
    assert db.session.get(Incident, incident.id).closed_at is not None
    incidents.reopen(incident, actor)
    reopened = db.session.get(Incident, incident.id)
    assert reopened.status is Status.TRIGGERED
    assert reopened.closed_at is None and reopened.acknowledged_by is None
    assert events_of(incident)[-3:] == ["acknowledged", "resolved", "reopened"]


def test_unacknowledge_needs_an_acknowledged_incident(owner: Persona) -> None:
    incident = factories.incident(owner.account)
    with pytest.raises(incidents.InvalidTransition, match="triggered"):
        incidents.unacknowledge(incident, Actor(owner.member, Source.WEB))
    incidents.acknowledge(incident, Actor(owner.member, Source.WEB))
    incidents.unacknowledge(incident, Actor(owner.member, Source.WEB))
    assert db.session.get(Incident, incident.id).status is Status.TRIGGERED


def test_snooze_accepts_only_the_offered_durations(owner: Persona) -> None:
    incident = factories.incident(owner.account)
    actor = Actor(owner.member, Source.CARD)
    with pytest.raises(incidents.InvalidTransition):
        incidents.snooze(incident, actor, 45)
    incidents.snooze(incident, actor, 240)
    snoozed = db.session.get(Incident, incident.id)
    assert snoozed.snoozed_until is not None
    minutes = (snoozed.snoozed_until - snoozed.updated_at).total_seconds() / 60
    assert round(minutes) == 240
    incidents.unsnooze(incident, actor)
    assert db.session.get(Incident, incident.id).snoozed_until is None
    with pytest.raises(incidents.InvalidTransition, match="not snoozed"):
        incidents.unsnooze(incident, actor)


def test_reassign_and_add_responder_stay_within_the_account(
    owner: Persona, member: Persona, outsider: Persona
) -> None:
    incident = factories.incident(owner.account)
    actor = Actor(owner.member, Source.WEB)
    incidents.reassign(incident, actor, [member.member])
    assert db.session.get(Incident, incident.id).assignees == [member.member]
    with pytest.raises(incidents.NotAllowed):
        incidents.reassign(incident, actor, [outsider.member])
    incidents.add_responder(incident, actor, member.member)
    with pytest.raises(incidents.InvalidTransition, match="already a responder"):
        incidents.add_responder(incident, actor, member.member)
    assert events_of(incident)[-2:] == ["reassigned", "responder_added"]


def test_an_empty_comment_is_refused(owner: Persona) -> None:
    incident = factories.incident(owner.account)
    with pytest.raises(incidents.InvalidTransition, match="empty"):
        incidents.comment(incident, Actor(owner.member, Source.WEB), "   ")
    assert events_of(incident) == ["triggered"]


def test_a_member_of_another_account_cannot_act(owner: Persona, outsider: Persona) -> None:
    incident = factories.incident(owner.account)
    with pytest.raises(incidents.NotAllowed):
        incidents.acknowledge(incident, Actor(outsider.member, Source.WEB))
    assert db.session.get(Incident, incident.id).status is Status.TRIGGERED


def test_a_member_outside_the_channel_cannot_act_but_an_admin_can(owner: Persona) -> None:
    stranger = factories.persona("member", account=owner.account)
    channel = factories.channel(owner.account, [])
    incident = factories.incident(owner.account, ch=channel)
    with pytest.raises(incidents.NotAllowed):
        incidents.acknowledge(incident, Actor(stranger.member, Source.WEB))
    incidents.acknowledge(incident, Actor(owner.member, Source.WEB))


def test_acting_without_a_license_seat_is_refused_and_remembered(owner: Persona) -> None:
    seatless = factories.persona("member", account=owner.account, seat=False)
    incident = factories.incident(owner.account)
    with pytest.raises(incidents.NoSeat, match="License"):
        incidents.acknowledge(incident, Actor(seatless.member, Source.CARD))
    assert db.session.get(Incident, incident.id).status is Status.TRIGGERED
    refusals = db.session.scalar(
        select(func.count())
        .select_from(LicenseRefusal)
        .where(LicenseRefusal.member_id == seatless.member.id)
    )
    assert refusals == 1


def test_listeners_see_the_event_inside_the_transaction(owner: Persona) -> None:
    seen: list[tuple[int, str]] = []

    def listener(incident: Incident, event: IncidentEvent) -> None:
        seen.append((incident.number, event.kind))

    incidents.incident_changed.connect(listener)
    try:
        incident = factories.incident(owner.account)
        incidents.acknowledge(incident, Actor(owner.member, Source.WEB, message_id="om_1"))
    finally:
        incidents.incident_changed.disconnect(listener)
    assert seen == [(incident.number, "triggered"), (incident.number, "acknowledged")]
    last = db.session.scalars(select(IncidentEvent).order_by(IncidentEvent.id.desc())).first()
    assert last is not None and last.details["message_id"] == "om_1"


def test_a_failing_listener_rolls_the_change_back(owner: Persona) -> None:
    def broken(incident: Incident, event: IncidentEvent) -> None:
        raise RuntimeError("outbox unavailable")

    incident = factories.incident(owner.account)
    incidents.incident_changed.connect(broken)
    try:
        with pytest.raises(RuntimeError):
            incidents.acknowledge(incident, Actor(owner.member, Source.WEB))
    finally:
        incidents.incident_changed.disconnect(broken)
    db.session.expire_all()
    assert db.session.get(Incident, incident.id).status is Status.TRIGGERED
    assert events_of(incident) == ["triggered"]


def test_an_incident_starts_at_the_moment_it_is_triggered(owner: Persona) -> None:
    """The detail page's "Started" and the timeline's "triggered" name one moment, so they
    read the same words ("1 second ago") even on a rounding edge."""
    incident = factories.incident(owner.account)
    [triggered] = [e for e in incident.events if e.kind == EventKind.TRIGGERED]
    assert triggered.created_at == incident.created_at
