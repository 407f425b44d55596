"""Test data: personas (owner, member, outsider) and incidents, made through real models."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete

from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.models import (
    Account,
    AlertSource,
    Channel,
    Incident,
    LarkIntegration,
    Member,
    Role,
    Severity,
)

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)


@dataclass
class Persona:
    member: Member
    password: str = PASSWORD

    @property
    def account(self) -> Account:
        return self.member.account


def persona(kind: str, account: Account | None = None, seat: bool = True) -> Persona:
    """owner: first member of a new account; member: a plain member; outsider: another account."""
    n = next(_seq)
    if account is None:
        account = Account(name=f"Account {n}", seats_allowed=10)
        db.session.add(account)
    role = {"owner": Role.OWNER, "admin": Role.ADMIN}.get(kind, Role.MEMBER)
    member = Member(
        account=account,
        name=f"{kind.title()} {n}",
        email=f"{kind}{n}@example.com",
        phone=f"+86138{n:08d}",
        role=role,
        has_seat=seat,
    )
    member.set_password(PASSWORD)
    db.session.add(member)
    db.session.commit()
    return Persona(member)


def channel(account: Account, members: list[Member], name: str | None = None) -> Channel:
    ch = Channel(account_id=account.id, name=name or f"Channel {next(_seq)}", members=members)
    db.session.add(ch)
    db.session.commit()
    return ch


def alert_source(
    account: Account, ch: Channel | None = None, key: str | None = None
) -> AlertSource:
    source = AlertSource(
        account_id=account.id,
        channel_id=ch.id if ch else None,
        name="Prometheus",
        key=key or f"key-{next(_seq)}",
    )
    db.session.add(source)
    db.session.commit()
    return source


def incident(
    account: Account,
    title: str = "db-01 is down",
    severity: Severity = Severity.CRITICAL,
    ch: Channel | None = None,
    assignees: list[Member] | None = None,
    labels: dict[str, str] | None = None,
) -> Incident:
    return incidents.open_incident(
        account.id,
        title=title,
        severity=severity,
        channel_id=ch.id if ch else None,
        assignees=assignees or [],
        labels=labels or {},
        actor=Actor.api(),
    )


def lark_integration(
    account: Account,
    key: str = "demo",
    tenant_key: str | None = None,
    enabled: bool = True,
    app_id: str | None = None,
    app_secret: str | None = None,
) -> LarkIntegration:
    """A Lark integration talking to the sandbox (by default its seeded demo app)."""
    from webapp.sandbox import seed

    integration = LarkIntegration(
        account_id=account.id,
        key=key,
        name="Lark",
        app_id=app_id or seed.DEMO_APP_ID,
        api_base_url=f"{current_app.config['PUBLIC_BASE_URL']}/_lark",
        tenant_key=tenant_key,
        enabled=enabled,
    )
    integration.app_secret = app_secret or seed.DEMO_APP_SECRET
    integration.verification_token = seed.DEMO_VERIFICATION_TOKEN
    integration.encrypt_key = seed.DEMO_ENCRYPT_KEY
    db.session.add(integration)
    db.session.commit()
    return integration


def empty_all_tables() -> None:
    """Delete every row, children first; faster than recreating the schema per test."""
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(delete(table))
    db.session.commit()
