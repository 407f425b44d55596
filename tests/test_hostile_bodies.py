"""Bodies built to hurt: deep nesting and oversized label sets answer a clear 400."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests import factories
from tests.factories import Persona
from tests.test_alert_intake import counts, source_for

DEPTH = 200_000
DEEP = b"[" * DEPTH + b"]" * DEPTH  # 400 KB: under the 1 MiB limit


def test_deeply_nested_json_on_the_alert_api_is_the_usual_400(
    client: FlaskClient, owner: Persona
) -> None:
    source = source_for(owner)
    response = client.post(
        f"/api/v1/alerts/{source.key}", data=DEEP, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_json"
    assert counts() == (0, 0, 0)


def test_deeply_nested_json_on_the_card_url_answers_lark_json(
    client: FlaskClient, owner: Persona
) -> None:
    integration = factories.lark_integration(owner.account)
    for body in (DEEP, b'{"a": ' + DEEP + b"}"):
        response = client.post(
            f"/lark/{integration.key}/card", data=body, content_type="application/json"
        )
        assert response.status_code == 400
        assert response.mimetype == "application/json"
        assert response.get_json()["error"] == "invalid_json"
