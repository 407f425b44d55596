"""The Alertmanager API v2 silence endpoints: shapes as the OpenAPI spec says, and refusals."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.factories import Persona
from webapp.models import TokenScope, utcnow
from webapp.tokens import service as tokens

BASE = "/alertmanager/api/v2"


def bearer(persona: Persona, scope: TokenScope = TokenScope.WRITE) -> dict[str, str]:
    _, secret = tokens.create(persona.account.id, "tests", scope, None, persona.member)
    return {"Authorization": f"Bearer {secret}"}


def stamp(**delta: float) -> str:
    return (utcnow() + timedelta(**delta)).isoformat().replace("+00:00", "Z")


def body(**changes: Any) -> dict[str, Any]:
    return {
        "matchers": [{"name": "alertname", "value": "DiskFull", "isRegex": False}],
        "startsAt": stamp(),
        "endsAt": stamp(hours=2),
        "createdBy": "li.lei",
        "comment": "db switchover",
        **changes,
    }


def create(client: FlaskClient, auth: dict[str, str], **changes: Any) -> str:
    response = client.post(f"{BASE}/silences", json=body(**changes), headers=auth)
    assert response.status_code == 200, response.get_json()
    return str(response.get_json()["silenceID"])


def test_a_silence_reads_back_with_every_field_the_spec_requires(
    client: FlaskClient, owner: Persona
) -> None:
    auth = bearer(owner)
    silence_id = create(client, auth)

    got = client.get(f"{BASE}/silence/{silence_id}", headers=auth).get_json()

    assert set(got) == {
        "id", "status", "updatedAt", "matchers", "startsAt", "endsAt", "createdBy", "comment"
    }  # fmt: skip
    assert got["status"] == {"state": "active"}
    assert got["matchers"] == [
        {"name": "alertname", "value": "DiskFull", "isRegex": False, "isEqual": True}
    ]
    assert got["endsAt"].endswith("Z") and got["createdBy"] == "li.lei"
    assert client.get(f"{BASE}/silences", headers=auth).get_json() == [got]


def test_status_answers_what_amtool_checks(client: FlaskClient, owner: Persona) -> None:
    got = client.get(f"{BASE}/status", headers=bearer(owner, TokenScope.READ)).get_json()
    assert set(got) == {"cluster", "versionInfo", "config", "uptime"}
    assert got["cluster"]["status"] in ("ready", "settling", "disabled")
    assert set(got["versionInfo"]) == {
        "version", "revision", "branch", "buildUser", "buildDate", "goVersion"
    }  # fmt: skip
    assert isinstance(got["config"]["original"], str)


def test_posting_with_an_id_updates_or_replaces_as_alertmanager_does(
    client: FlaskClient, owner: Persona
) -> None:
    auth = bearer(owner)
    first = create(client, auth)
    start = client.get(f"{BASE}/silence/{first}", headers=auth).get_json()["startsAt"]

    assert create(client, auth, id=first, startsAt=start, endsAt=stamp(hours=5)) == first
    other = [{"name": "alertname", "value": "Disk.*", "isRegex": True, "isEqual": True}]
    second = create(client, auth, id=first, matchers=other)

    assert second != first
    listed = client.get(f"{BASE}/silences", headers=auth).get_json()
    states = {s["id"]: s["status"]["state"] for s in listed}
    assert states == {first: "expired", second: "active"}


def test_delete_expires_and_a_pending_silence_is_listed_as_pending(
    client: FlaskClient, owner: Persona
) -> None:
    auth = bearer(owner)
    now_id = create(client, auth)
    later = create(client, auth, startsAt=stamp(hours=1), endsAt=stamp(hours=3))

    assert client.delete(f"{BASE}/silence/{now_id}", headers=auth).status_code == 200
    listed = client.get(f"{BASE}/silences", headers=auth).get_json()

    assert [(s["id"], s["status"]["state"]) for s in listed] == [
        (later, "pending"),
        (now_id, "expired"),
    ]


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"matchers": []}, "matchers"),
        ({"matchers": [{"name": "a", "value": "b"}]}, "isRegex"),
        (
            {"matchers": [{"name": "env", "value": "prod", "isRegex": False, "isEqual": False}]},
            "empty string",
        ),
        ({"endsAt": "tomorrow"}, "endsAt"),
        ({"endsAt": "an hour ago"}, "past"),  # made in the test, from its moment
        ({"comment": None}, "comment"),
        ({"matchers": [{"name": "job", "value": "(", "isRegex": True}]}, "regular expression"),
    ],
)
def test_a_bad_silence_gets_400_naming_what_is_wrong_and_saves_nothing(
    client: FlaskClient, owner: Persona, changes: dict[str, Any], words: str
) -> None:
    auth = bearer(owner)
    if changes.get("endsAt") == "an hour ago":
        changes = {"startsAt": stamp(hours=-2), "endsAt": stamp(hours=-1)}
    response = client.post(f"{BASE}/silences", json=body(**changes), headers=auth)
    assert response.status_code == 400
    assert words in response.get_json()
    assert client.get(f"{BASE}/silences", headers=auth).get_json() == []


def test_malformed_or_deeply_nested_json_is_refused(client: FlaskClient, owner: Persona) -> None:
    auth = bearer(owner)
    for raw in ("{", "[" * 100_000, json.dumps([1, 2])):
        response = client.post(
            f"{BASE}/silences", data=raw, headers=auth, content_type="application/json"
        )
        assert response.status_code == 400


def test_tokens_decide_who_may_read_and_write(
    client: FlaskClient, owner: Persona, outsider: Persona
) -> None:
    mine = create(client, bearer(owner))
    reader = bearer(owner, TokenScope.READ)

    assert client.get(f"{BASE}/silences").status_code == 401
    assert client.get(f"{BASE}/silences").headers["WWW-Authenticate"].startswith("Bearer")
    assert client.post(f"{BASE}/silences", json=body(), headers=reader).status_code == 403
    assert client.delete(f"{BASE}/silence/{mine}", headers=reader).status_code == 403
    theirs = bearer(outsider)
    assert client.get(f"{BASE}/silence/{mine}", headers=theirs).status_code == 404
    assert client.delete(f"{BASE}/silence/{mine}", headers=theirs).status_code == 404
    assert client.get(f"{BASE}/silences", headers=theirs).get_json() == []
    taken = client.post(f"{BASE}/silences", json=body(id=mine), headers=theirs)
    assert taken.status_code == 404
    assert client.get(f"{BASE}/silence/{mine}", headers=reader).get_json()["comment"] == (
        "db switchover"
    )
