"""The REST API v1 (/api/v1/): HTTP adapters over the capabilities for programs, with the
bearer tokens of webapp/tokens, RFC 9457 problem details, and an OpenAPI 3.1 document built
from the code. One module per resource; add one by listing it in RESOURCES."""

from __future__ import annotations

from flask import Flask

from webapp.api import docs, heartbeats, incidents, members, schedules, silences
from webapp.api.spec import bp
from webapp.extensions import csrf

RESOURCES = (incidents, schedules, members, silences, heartbeats, docs)


def init_app(app: Flask) -> None:
    """Bearer tokens, never cookies, authenticate here, so there is no CSRF to check."""
    assert RESOURCES  # the modules above register their routes on `bp` when imported
    csrf.exempt(bp)
    app.register_blueprint(bp)
