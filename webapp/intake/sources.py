"""An alert source on the admin's side: which tool posts to it, its intake URL, and a test
command posting that tool's example body."""

from __future__ import annotations

import json

from flask import current_app

from webapp.extensions import db
from webapp.intake.parsers import KINDS, TOOLS
from webapp.models import AlertSource


class UnknownKind(ValueError):
    """A kind of source this intake cannot read."""


def choose_kind(source: AlertSource, kind: str) -> None:
    """Set which tool posts to a source's intake URL; it decides how bodies are read."""
    if kind not in KINDS:
        raise UnknownKind(kind)
    source.kind = kind
    db.session.commit()


def test_command(kind: str, url: str) -> str:
    """A curl command posting the kind's example body to the intake URL."""
    body = json.dumps(TOOLS[kind].example, ensure_ascii=False).replace("'", "'\\''")
    return f"curl -sS -X POST -H 'Content-Type: application/json' -d '{body}' {url}"


def intake_url(source: AlertSource) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}/api/v1/alerts/{source.key}"
