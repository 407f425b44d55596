"""Alert intake: `POST /api/v1/alerts/<key>` (generic JSON or Alertmanager webhook)."""

from __future__ import annotations

import json

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from webapp.extensions import csrf, db
from webapp.intake import ingest
from webapp.intake.alert import InvalidAlerts
from webapp.intake.parsers import parse_for
from webapp.models import AlertSource

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.post("/alerts/<key>")
@csrf.exempt
def post_alerts(key: str) -> ResponseReturnValue:
    source = db.session.execute(
        select(AlertSource).where(AlertSource.key == key)
    ).scalar_one_or_none()
    if source is None:
        return jsonify(error="not_found", message="no alert source has this key"), 404
    raw = request.get_data(cache=False)  # MAX_CONTENT_LENGTH answers 413 above 1 MiB
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: deep nesting
        return jsonify(error="invalid_json", message="the body is not valid JSON"), 400
    try:
        parsed = parse_for(source.kind, body)
    except InvalidAlerts as exc:
        return jsonify(
            error="invalid_alert", message="some fields are wrong", fields=exc.fields
        ), 400
    outcomes = ingest.ingest(source, parsed)
    return jsonify(
        results=[{"action": o.action, "incident_number": o.incident_number} for o in outcomes]
    )
