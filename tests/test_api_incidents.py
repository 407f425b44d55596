"""REST API v1, incidents: list with filters and cursors, one with alerts and timeline,
declare, and every verb, through the same service as the card and the web (source api)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import factories
from tests.api_support import call, fields, problem, token_of
from tests.conftest import sign_in
from webapp.api.incident_shapes import SnoozeIn, StatusWord
from webapp.extensions import db
from webapp.incidents.queries import STATUSES
from webapp.incidents.service import SNOOZE_MINUTES
from webapp.models import Incident, IncidentEvent, Severity, Source, Status, TokenScope, utcnow


@pytest.fixture
def secret(owner: factories.Persona) -> str:
    return token_of(owner, name="deploy-bot")


def test_the_list_shows_only_the_tokens_account_newest_first(
    client: FlaskClient, owner: factories.Persona, outsider: factories.Persona, secret: str
) -> None:
    factories.incident(owner.account, title="first")
    factories.incident(owner.account, title="second")
    factories.incident(outsider.account, title="theirs")
    answer = call(client, "GET", "/incidents", secret)
    assert answer.status_code == 200
    assert [i["title"] for i in answer.get_json()["items"]] == ["second", "first"]
    assert answer.get_json()["next_cursor"] is None


def test_the_list_filters_like_the_web_list(
    client: FlaskClient, owner: factories.Persona, member: factories.Persona, secret: str
) -> None:
    payments = factories.channel(owner.account, [owner.member], name="Payments")
    factories.incident(owner.account, title="crit", severity=Severity.CRITICAL, ch=payments)
    factories.incident(owner.account, title="info", severity=Severity.INFO)
    mine = factories.incident(owner.account, title="mine", assignees=[owner.member])
    theirs = factories.incident(owner.account, title="theirs", assignees=[member.member])
    closed = factories.incident(owner.account, title="closed")
    db.session.add_all([mine, theirs, closed])
    closed.status = Status.CLOSED
    db.session.commit()

    def titles(query: str) -> list[str]:
        answer = call(client, "GET", f"/incidents?{query}", secret)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return sorted(i["title"] for i in answer.get_json()["items"])

    assert titles("") == ["crit", "info", "mine", "theirs"]  # open by default
    assert titles("status=closed") == ["closed"]
    assert titles("severity=Info") == ["info"]
    assert titles(f"channel_id={payments.id}") == ["crit"]
    assert titles("assignee=me") == ["mine"]
    assert titles(f"assignee={member.member.id}") == ["theirs"]
    assert titles("assignee=nobody&status=any") == ["closed", "crit", "info"]
    assert titles("q=the") == ["theirs"]


def test_pages_follow_the_cursor_and_are_bounded(
    client: FlaskClient, owner: factories.Persona, secret: str, clock: time_machine.Traveller
) -> None:
    for n in range(5):
        clock.shift(timedelta(seconds=1))
        factories.incident(owner.account, title=f"#{n}")
    seen, cursor = [], ""
    while True:
        answer = call(client, "GET", f"/incidents?limit=2{cursor}", secret).get_json()
        seen.extend(i["title"] for i in answer["items"])
        if answer["next_cursor"] is None:
            break
        cursor = f"&cursor={answer['next_cursor']}"
    assert seen == ["#4", "#3", "#2", "#1", "#0"]
    too_many = problem(call(client, "GET", "/incidents?limit=101", secret), 422)
    assert fields(too_many) == {"limit"}
    assert fields(problem(call(client, "GET", "/incidents?cursor=xyz", secret), 422)) == {"cursor"}


def test_one_incident_comes_with_its_alerts_and_timeline(
    client: FlaskClient, owner: factories.Persona, secret: str
) -> None:
    incident = factories.incident(owner.account, title="db-01 is down", labels={"env": "prod"})
    body = call(client, "GET", f"/incidents/{incident.number}", secret).get_json()
    assert body["title"] == "db-01 is down"
    assert body["labels"] == {"env": "prod"}
    assert body["alerts"] == []
    assert [e["kind"] for e in body["timeline"]] == ["triggered"]


def test_another_accounts_incident_is_404(
    client: FlaskClient, owner: factories.Persona, outsider: factories.Persona, secret: str
) -> None:
    theirs = factories.incident(outsider.account)
    ours = factories.incident(owner.account)
    assert ours.number == theirs.number  # numbers are per account: the token picks which
    other_token = token_of(outsider)
    call(client, "POST", f"/incidents/{theirs.number}/resolve", secret, {})
    db.session.expire_all()
    assert db.session.get(Incident, theirs.id).status is Status.TRIGGERED  # type: ignore[union-attr]
    missing = problem(call(client, "GET", "/incidents/999", other_token), 404)
    assert missing["detail"] == "This account has no incident #999."


def test_declaring_opens_an_incident_recorded_as_the_tokens(
    client: FlaskClient, owner: factories.Persona, member: factories.Persona, secret: str
) -> None:
    channel = factories.channel(owner.account, [owner.member], name="Payments")
    answer = call(
        client,
        "POST",
        "/incidents",
        secret,
        {
            "title": "checkout 5xx",
            "severity": "Critical",
            "channel_id": channel.id,
            "description": "from the deploy pipeline",
            "assignee_ids": [member.member.id],
        },
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)
    body = answer.get_json()
    assert (body["status"], body["channel"]["name"]) == ("Triggered", "Payments")
    assert [a["name"] for a in body["assignees"]] == [member.member.name]
    [event] = body["timeline"]
    assert (event["kind"], event["source"], event["token"]) == ("triggered", "api", "deploy-bot")
    stored = db.session.scalars(select(IncidentEvent)).one()
    assert stored.source is Source.API and stored.details["token"] == "deploy-bot"


def test_a_declaration_names_each_wrong_field_and_writes_nothing(
    client: FlaskClient, owner: factories.Persona, outsider: factories.Persona, secret: str
) -> None:
    body = problem(call(client, "POST", "/incidents", secret, {"severity": "P9"}), 422)
    assert fields(body) == {"title", "severity"}
    theirs = factories.channel(outsider.account, [outsider.member])
    wrong = {"title": "x", "severity": "Info", "channel_id": theirs.id}
    assert fields(problem(call(client, "POST", "/incidents", secret, wrong), 422)) == {"channel_id"}
    stranger = {"title": "x", "severity": "Info", "assignee_ids": [outsider.member.id]}
    assert fields(problem(call(client, "POST", "/incidents", secret, stranger), 422)) == {
        "assignee_ids.0"
    }
    assert db.session.scalars(select(Incident)).all() == []


def test_a_read_token_may_not_declare(client: FlaskClient, owner: factories.Persona) -> None:
    reader = token_of(owner, TokenScope.READ)
    body = problem(
        call(client, "POST", "/incidents", reader, {"title": "x", "severity": "Info"}), 403
    )
    assert "may only read" in body["detail"]
    assert call(client, "GET", "/incidents", reader).status_code == 200


def test_the_same_idempotency_key_returns_the_first_answer_for_a_day(
    client: FlaskClient, owner: factories.Persona, secret: str, clock: time_machine.Traveller
) -> None:
    body = {"title": "deploy failed", "severity": "Warning"}
    first = call(client, "POST", "/incidents", secret, body, **{"Idempotency-Key": "run-42"})
    again = call(client, "POST", "/incidents", secret, body, **{"Idempotency-Key": "run-42"})
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(db.session.scalars(select(Incident)).all()) == 1
    other = {"title": "something else", "severity": "Warning"}
    reused = call(client, "POST", "/incidents", secret, other, **{"Idempotency-Key": "run-42"})
    assert fields(problem(reused, 422)) == {"Idempotency-Key"}
    clock.move_to(utcnow() + timedelta(hours=24, minutes=1))
    later = call(client, "POST", "/incidents", secret, body, **{"Idempotency-Key": "run-42"})
    assert later.status_code == 201
    assert later.get_json()["number"] == first.get_json()["number"] + 1


def test_every_verb_goes_through_the_service(
    client: FlaskClient, owner: factories.Persona, member: factories.Persona, secret: str
) -> None:
    number = factories.incident(owner.account).number

    def verb(path: str, body: object = None) -> dict[str, object]:
        answer = call(client, "POST", f"/incidents/{number}/{path}", secret, body or {})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        result: dict[str, object] = answer.get_json()
        return result

    assert verb("acknowledge")["status"] == "Processing"
    assert verb("snooze", {"minutes": 60})["snoozed_until"] is not None
    assert verb("reassign", {"member_ids": [member.member.id]})["assignees"] == [
        {"id": member.member.id, "name": member.member.name}
    ]
    verb("comments", {"text": "rolling back"})
    assert verb("resolve")["status"] == "Closed"
    last = verb("reopen")
    assert last["status"] == "Triggered"
    kinds = [(e["kind"], e["source"], e["token"]) for e in last["timeline"]]  # type: ignore[attr-defined]
    assert kinds[1:] == [
        (k, "api", "deploy-bot")
        for k in ("acknowledged", "snoozed", "reassigned", "commented", "resolved", "reopened")
    ]


def test_a_refused_change_is_409_and_says_why(
    client: FlaskClient, owner: factories.Persona, secret: str
) -> None:
    incident = factories.incident(owner.account)
    call(client, "POST", f"/incidents/{incident.number}/resolve", secret, {})
    again = problem(call(client, "POST", f"/incidents/{incident.number}/resolve", secret, {}), 409)
    assert again["type"].endswith("invalid-transition")
    assert "Already resolved" in again["detail"]
    stale = call(
        client, "POST", f"/incidents/{incident.number}/reopen", secret, {"expected_version": 1}
    )
    assert problem(stale, 409)["type"].endswith("stale")
    snooze = call(client, "POST", f"/incidents/{incident.number}/snooze", secret, {"minutes": 7})
    assert fields(problem(snooze, 422)) == {"minutes"}
    blank = call(client, "POST", f"/incidents/{incident.number}/comments", secret, {"text": "  "})
    assert fields(problem(blank, 422)) == {"text"}


def test_a_cookie_session_never_authenticates_the_api(
    client: FlaskClient, owner: factories.Persona
) -> None:
    sign_in(client, owner)
    answer = client.get("/api/v1/incidents")
    assert problem(answer, 401)["detail"].startswith("Send the header Authorization: Bearer")
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    posted = client.post("/api/v1/incidents", json={"title": "x", "severity": "Info"})
    problem(posted, 401)


def test_the_apis_words_are_the_services() -> None:
    """The API's status filter and snooze lengths are the web list's and the service's."""
    assert set(StatusWord.__args__) == set(STATUSES)  # type: ignore[attr-defined]
    minutes = SnoozeIn.model_fields["minutes"].annotation
    assert set(minutes.__args__) == set(SNOOZE_MINUTES)  # type: ignore[union-attr]
