"""Silences: a silenced alert is recorded and marked, never paged; its end pages what waits."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.factories import Persona
from tests.silences_support import firing, kinds, pages, paging_channel, post, silence
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.models import Alert, AuditEntry, Delivery, DeliveryStatus, Silence, Source, utcnow
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox
from webapp.silences import service, tick
from webapp.silences.matchers import Matcher, MatcherInvalid, check_set, from_json, parse


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ('alertname="DiskFull"', {"alertname": "DiskFull"}, True),
        ("alertname=DiskFull", {"alertname": "DiskFullX"}, False),
        ('env!="prod"', {"env": "staging"}, True),
        ('env!="prod"', {}, True),  # a missing label reads as the empty string
        ('job=~"node.*"', {"job": "node-exporter"}, True),
        ('job=~"node"', {"job": "node-exporter"}, False),  # anchored at both ends
        ('job=~"exporter"', {"job": "node-exporter"}, False),
        ('job!~"node.*"', {"job": "node-exporter"}, False),
        ('job!~"node.*"', {"job": "mysqld"}, True),
        ('msg="say \\"hi\\""', {"msg": 'say "hi"'}, True),
    ],
)
def test_matchers_follow_alertmanager(text: str, labels: dict[str, str], expected: bool) -> None:
    assert parse(text).matches(labels) is expected


def test_a_matcher_writes_itself_back_as_amtool_reads_it() -> None:
    matcher = Matcher("job", "node.*", is_regex=True, is_equal=False)
    assert str(matcher) == 'job!~"node.*"'
    assert parse(str(matcher)) == matcher
    expected = {"name": "job", "value": "node.*", "isRegex": True, "isEqual": False}
    assert matcher.as_json() == expected


def test_matchers_that_match_the_empty_string_alone_are_refused() -> None:
    with pytest.raises(MatcherInvalid, match="empty string"):
        check_set([parse('env!="prod"')])
    with pytest.raises(MatcherInvalid, match="regular expression"):
        parse('job=~"("')
    with pytest.raises(MatcherInvalid, match="label name"):
        from_json({"name": "9lives", "value": "x", "isRegex": False})
    with pytest.raises(MatcherInvalid, match="isRegex"):
        from_json({"name": "job", "value": "x"})


def test_a_silenced_alert_opens_its_incident_marked_and_pages_nobody(
    client: FlaskClient, owner: Persona
) -> None:
    _, source = paging_channel(owner)
    held = silence(owner, "alertname=DiskFull", "instance=~db-.*")

    incident = post(client, source, firing())
    other = post(client, source, firing("HighLoad", fingerprint="beef"))

    assert incident.silence_id == held.id
    assert pages(incident) == []
    anything = select(Delivery).where(Delivery.incident_id == incident.id)
    assert db.session.scalars(anything).all() == []  # no card, no escalation, no e-mail
    assert kinds(incident) == ["triggered", "silenced"]
    [alert] = db.session.scalars(select(Alert).where(Alert.incident_id == incident.id))
    assert alert.silence_id == held.id
    assert other.silence_id is None and len(pages(other)) == 2  # Li Lei and the chat


def test_expiring_the_silence_pages_the_still_open_incident_at_once_and_only_once(
    client: FlaskClient, owner: Persona
) -> None:
    _, source = paging_channel(owner)
    held = silence(owner)
    incident = post(client, source, firing())

    service.expire(owner.account.id, held.id, Actor(owner.member, Source.API), "amtool")

    db.session.refresh(incident)
    assert incident.silence_id is None
    assert len(pages(incident)) == 2
    assert kinds(incident)[-1] == "unsilenced"
    assert tick.run(utcnow() + timedelta(hours=3)) == 0  # nothing left to do for the worker
    assert len(pages(incident)) == 2
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["silence_created", "silence_expired"]


def test_the_worker_pages_at_the_natural_end_exactly_once(
    client: FlaskClient, owner: Persona, clock: time_machine.Traveller
) -> None:
    _, source = paging_channel(owner)
    held = silence(owner, hours=2)
    incident = post(client, source, firing())

    clock.move_to(held.ends_at - timedelta(seconds=1))
    assert tick.run() == 0
    clock.move_to(held.ends_at + timedelta(seconds=5))
    assert tick.run() == 1
    assert tick.run() == 0

    db.session.refresh(incident)
    assert incident.silence_id is None
    assert len(pages(incident)) == 2
    [line] = [e for e in incident.events if e.kind == "unsilenced"]
    assert line.details["paged"] is True and line.details["why"] == "expired"


def test_an_acknowledged_incident_is_released_without_a_page(
    client: FlaskClient, owner: Persona
) -> None:
    _, source = paging_channel(owner)
    held = silence(owner)
    incident = post(client, source, firing())
    incidents.acknowledge(incident, Actor(owner.member, Source.WEB))

    service.expire(owner.account.id, held.id, Actor(owner.member, Source.WEB))

    assert pages(incident) == []
    [line] = [e for e in incident.events if e.kind == "unsilenced"]
    assert line.details["paged"] is False


def test_a_new_silence_holds_open_incidents_and_cancels_their_pending_escalation(
    client: FlaskClient, owner: Persona
) -> None:
    _, source = paging_channel(owner)
    incident = post(client, source, firing())
    [step] = db.session.scalars(
        select(Delivery).where(Delivery.incident_id == incident.id, Delivery.kind == "escalate")
    )
    assert step.status is DeliveryStatus.PENDING

    held = silence(owner)

    db.session.refresh(step)
    db.session.refresh(incident)
    assert step.status is DeliveryStatus.CANCELLED
    assert incident.silence_id == held.id
    assert kinds(incident)[-1] == "silenced"


def test_a_pending_silence_starts_holding_when_the_worker_passes_its_start(
    client: FlaskClient, owner: Persona, clock: time_machine.Traveller
) -> None:
    _, source = paging_channel(owner)
    incident = post(client, source, firing())
    later = silence(owner, starts_in=timedelta(hours=1))
    assert later.state(utcnow()) == "pending"
    assert tick.run() == 0

    clock.move_to(later.starts_at + timedelta(seconds=1))
    assert tick.run() == 1

    db.session.refresh(incident)
    assert incident.silence_id == later.id
    assert post(client, source, firing(fingerprint="f00e")).silence_id == later.id


def test_an_edit_with_the_same_matchers_keeps_the_id_and_a_new_matcher_replaces_it(
    client: FlaskClient, owner: Persona
) -> None:
    _, source = paging_channel(owner)
    first = silence(owner)
    incident = post(client, source, firing())
    actor = Actor(owner.member, Source.API)

    longer = service.SilenceInput(
        matchers=[parse("alertname=DiskFull")],
        starts_at=first.starts_at,
        ends_at=first.ends_at + timedelta(hours=1),
        created_by="amtool",
        comment="longer",
    )
    assert service.save(owner.account.id, longer, actor, first.id).id == first.id
    assert kinds(incident)[-1] == "silence_changed"

    wider = service.SilenceInput(
        matchers=[parse('alertname=~"Disk.*"')],
        starts_at=utcnow(),
        ends_at=utcnow() + timedelta(hours=1),
        created_by="amtool",
        comment="wider",
    )
    replaced = service.save(owner.account.id, wider, actor, first.id)

    assert replaced.id != first.id
    db.session.refresh(first)
    db.session.refresh(incident)
    assert first.state(utcnow()) == "expired"
    assert incident.silence_id == replaced.id  # handed over, never paged in between
    assert pages(incident) == []


def test_a_silence_cannot_end_in_the_past_or_name_another_accounts_silence(
    owner: Persona, outsider: Persona
) -> None:
    theirs = silence(outsider)
    past = service.SilenceInput([parse("a=b")], utcnow(), utcnow() - timedelta(1), "x", "")
    with pytest.raises(service.SilenceRefused, match="end time"):
        service.save(owner.account.id, past, Actor.api())
    with pytest.raises(service.SilenceNotFound):
        service.expire(owner.account.id, theirs.id, Actor.api())
    assert db.session.get(Silence, theirs.id).state(utcnow()) == "active"


def test_the_worker_loop_sends_the_page_of_an_ended_silence(
    client: FlaskClient, owner: Persona, lark: LarkSandbox, clock: time_machine.Traveller
) -> None:
    _, source = paging_channel(owner)
    held = silence(owner, hours=1)
    incident = post(client, source, firing())
    outbox.run_once()
    assert pages(incident) == []

    clock.move_to(held.ends_at + timedelta(minutes=1))
    tick.run()
    outbox.run_once()

    assert {r.status for r in pages(incident)} == {DeliveryStatus.DELIVERED}
    [card] = lark.messages_to(seed.LI_LEI.open_id)
    assert "Disk full on db-01" in card.content
