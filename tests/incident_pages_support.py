"""Helpers for the incident page tests: a Lark integration and a member who came through it."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests import factories
from tests.conftest import sign_in
from webapp.extensions import db
from webapp.models import (
    Account,
    Incident,
    LarkBinding,
    LarkIntegration,
    Member,
    Severity,
    Status,
    utcnow,
)

_seq = itertools.count(1)
_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def integration(account: Account) -> LarkIntegration:
    n = next(_seq)
    made = LarkIntegration(
        account_id=account.id,
        key=f"inc-pages-{n}",
        name="Lark",
        app_id=f"cli_pages_{n}",
        api_base_url="http://127.0.0.1:9/_lark",
    )
    made.app_secret = "secret"
    made.verification_token = "token"
    db.session.add(made)
    db.session.commit()
    return made


def enter(client: FlaskClient, persona: factories.Persona, lark: LarkIntegration) -> None:
    """Sign in and remember the binding, as the OAuth round trip would have."""
    sign_in(client, persona)
    binding = LarkBinding(
        integration_id=lark.id, member_id=persona.member.id, open_id=f"ou_{persona.member.id}"
    )
    db.session.add(binding)
    db.session.commit()
    with client.session_transaction() as session:
        session["lark"] = {"key": lark.key, "binding": binding.id}


def csrf_from(html: str) -> str:
    match = _META.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def many(
    account: Account, count: int, assignees: list[Member], title: str = "Incident number"
) -> list[Incident]:
    """`count` triggered incidents in one transaction, oldest first (faster than the service)."""
    start = utcnow() - timedelta(hours=1)
    base = db.session.execute(
        select(func.coalesce(func.max(Incident.number), 0)).where(Incident.account_id == account.id)
    ).scalar_one()
    made = [
        Incident(
            account_id=account.id,
            number=base + n + 1,
            title=f"{title} {n}",
            severity=Severity.WARNING,
            status=Status.TRIGGERED,
            created_at=start + timedelta(seconds=n),
            assignees=list(assignees),
        )
        for n in range(count)
    ]
    db.session.add_all(made)
    db.session.commit()
    return made
