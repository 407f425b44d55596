"""The OpenAPI 3.1 document of /api/v1/: it validates (openapi-spec-validator), the reference
page shows every operation, and schemathesis sends generated requests to the running app with
the demo token, finding no 5xx and no answer that breaks its own schema."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error, response_schema_conformance
from sqlalchemy import select

from webapp.extensions import db
from webapp.heartbeats import service as heartbeats
from webapp.models import Channel, Heartbeat, Incident, Schedule


def demo_token(app: Flask) -> str:
    printed = app.test_cli_runner().invoke(args=["demo", "load"]).output
    found = re.search(r"demo API token \(read and write\): (\S+)", printed)
    assert found, printed
    return found.group(1)


def test_the_document_is_valid_openapi_3_1(live_server: str) -> None:
    answer = requests.get(f"{live_server}/api/v1/openapi.json", timeout=10)
    doc = answer.json()
    assert doc["openapi"] == "3.1.0"
    validate(doc)
    paths = doc["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/incidents"])
    for verb in ("acknowledge", "resolve", "reopen", "snooze", "reassign", "comments"):
        assert "post" in paths[f"/api/v1/incidents/{{number}}/{verb}"]
    declare = paths["/api/v1/incidents"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in declare["parameters"]}
    refusal = declare["responses"]["403"]["content"]
    assert list(refusal) == ["application/problem+json"]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_the_reference_page_lists_every_operation(live_server: str) -> None:
    page = requests.get(f"{live_server}/api/v1/docs", timeout=10).text
    for line in (
        "GET /api/v1/incidents",
        "POST /api/v1/incidents/{number}/acknowledge",
        "GET /api/v1/oncall",
        "POST /api/v1/schedules/{schedule_id}/overrides",
        "GET /api/v1/members",
    ):
        assert line in page
    assert 'id="problem-invalid-input"' in page
    assert not re.search(r'(src|href)="(https?:)?//', page)  # our own files only: no CDN


def test_generated_requests_find_no_server_error_and_no_answer_off_its_schema(
    app: Flask, live_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "100000/minute")
    secret = demo_token(app)
    numbers = list(db.session.scalars(select(Incident.number).limit(5)))
    schedule_ids = list(db.session.scalars(select(Schedule.id)))
    heartbeat_id = _heartbeat_in_demo().id
    doc = requests.get(f"{live_server}/api/v1/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(doc)
    session = requests.Session()
    statuses: dict[str, set[int]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=12,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(
            case=operation.as_strategy(),
            number=st.sampled_from(numbers),
            schedule_id=st.sampled_from(schedule_ids),
        )
        def exercise(case: Any, number: int, schedule_id: int) -> None:
            real = {"number": number, "schedule_id": schedule_id, "heartbeat_id": heartbeat_id}
            for name in case.path_parameters or {}:  # mostly real ones, so verbs really act
                if name in real and number % 2:
                    case.path_parameters[name] = real[name]
            answer = case.call_and_validate(
                base_url=live_server,
                session=session,
                headers={"Authorization": f"Bearer {secret}"},
                checks=[not_a_server_error, response_schema_conformance],
            )
            statuses.setdefault(case.operation.label, set()).add(answer.status_code)

        exercise()
    verbs = {"get", "post", "put", "patch", "delete"}
    operations = sum(len(verbs & set(path)) for path in doc["paths"].values())
    assert len(statuses) == operations  # every operation ran
    assert 201 in statuses["POST /api/v1/incidents"]  # some generated bodies were valid
    assert 200 in statuses["POST /api/v1/incidents/{number}/acknowledge"]


def _heartbeat_in_demo() -> Heartbeat:
    """A heartbeat of the demo account, so the heartbeat verbs act on a real one too."""
    channel = db.session.scalars(select(Channel)).first()
    assert channel is not None
    settings = heartbeats.checked(channel.account_id, "Backups", channel.id, 60, 5)
    return heartbeats.create(channel.account_id, settings)
