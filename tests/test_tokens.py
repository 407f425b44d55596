"""API tokens: the secret shown once and stored as a hash, scopes, expiry, revocation, the
wrong-token limit per address, the last use, the CLI and the demo's token."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from tests import factories
from webapp.extensions import db
from webapp.models import ApiToken, utcnow
from webapp.tokens import service as tokens
from webapp.tokens.service import TokenRefused, TokenScope


def make(owner: factories.Persona, scope: TokenScope = TokenScope.WRITE, **kw: object) -> str:
    _token, secret = tokens.create(
        owner.account.id,
        str(kw.get("name", "deploy")),
        scope,
        kw.get("expires_at"),
        owner.member,  # type: ignore[arg-type]
    )
    return secret


def refused(
    app: Flask, header: str | None, need: TokenScope, addr: str = "10.0.0.1"
) -> TokenRefused:
    with (
        app.test_request_context(environ_base={"REMOTE_ADDR": addr}),
        pytest.raises(TokenRefused) as caught,
    ):
        tokens.authenticate(header, need)
    return caught.value


def accepted(app: Flask, header: str, need: TokenScope) -> ApiToken:
    with app.test_request_context(environ_base={"REMOTE_ADDR": "10.0.0.1"}):
        return tokens.authenticate(header, need)


def test_only_the_hash_of_the_secret_is_stored(owner: factories.Persona) -> None:
    _token, secret = tokens.create(owner.account.id, "deploy", TokenScope.READ, None, owner.member)
    assert re.fullmatch(r"oncall_[0-9a-f]{8}_\S{40,}", secret)
    row = db.session.scalars(select(ApiToken)).one()
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret.split("_")[1] == row.prefix
    assert secret not in {str(v) for v in row.__dict__.values()}
    assert row.created_by == owner.member


def test_a_write_token_reads_and_writes(app: Flask, owner: factories.Persona) -> None:
    secret = make(owner)
    assert accepted(app, f"Bearer {secret}", TokenScope.WRITE).name == "deploy"
    assert accepted(app, f"bearer {secret}", TokenScope.READ).name == "deploy"


def test_a_read_token_is_refused_a_write_with_403(app: Flask, owner: factories.Persona) -> None:
    secret = make(owner, TokenScope.READ)
    assert accepted(app, f"Bearer {secret}", TokenScope.READ).scope is TokenScope.READ
    refusal = refused(app, f"Bearer {secret}", TokenScope.WRITE)
    assert refusal.status == 403
    assert "may only read" in refusal.detail


@pytest.mark.parametrize(
    ("header", "words"),
    [
        (None, "Send the header Authorization: Bearer <token>"),
        ("Basic dXNlcjpwYXNz", "Send the header Authorization: Bearer <token>"),
        ("Bearer oncall_0000abcd_" + "x" * 43, "This token is not known"),
        ("Bearer not-a-token", "This token is not known"),
    ],
)
def test_a_missing_or_unknown_token_is_refused_with_401(
    app: Flask, owner: factories.Persona, header: str | None, words: str
) -> None:
    make(owner)
    refusal = refused(app, header, TokenScope.READ)
    assert refusal.status == 401
    assert words in refusal.detail


def test_a_token_with_one_character_changed_is_unknown(
    app: Flask, owner: factories.Persona
) -> None:
    secret = make(owner)
    forged = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert refused(app, f"Bearer {forged}", TokenScope.READ).status == 401


def test_a_revoked_token_is_refused_at_once(app: Flask, owner: factories.Persona) -> None:
    token, secret = tokens.create(owner.account.id, "ci", TokenScope.WRITE, None, owner.member)
    accepted(app, f"Bearer {secret}", TokenScope.WRITE)
    tokens.revoke(token, owner.member)
    refusal = refused(app, f"Bearer {secret}", TokenScope.READ)
    assert (refusal.status, refusal.detail) == (
        401,
        "This token was revoked. Ask an admin for a new one.",
    )


def test_a_token_stops_working_the_moment_it_expires(
    app: Flask, owner: factories.Persona, clock: time_machine.Traveller
) -> None:
    expires_at = utcnow() + timedelta(days=1)
    secret = make(owner, expires_at=expires_at)
    clock.move_to(expires_at - timedelta(seconds=1))
    accepted(app, f"Bearer {secret}", TokenScope.READ)
    clock.move_to(expires_at)
    refusal = refused(app, f"Bearer {secret}", TokenScope.READ)
    assert (refusal.status, refusal.detail) == (
        401,
        "This token has expired. Ask an admin for a new one.",
    )


def test_an_expiry_in_the_past_is_refused(owner: factories.Persona) -> None:
    with pytest.raises(tokens.TokenInvalid) as caught:
        make(owner, expires_at=utcnow() - timedelta(minutes=1))
    assert caught.value.field == "expires_at"
    assert db.session.scalars(select(ApiToken)).all() == []


def test_a_token_needs_a_name(owner: factories.Persona) -> None:
    with pytest.raises(tokens.TokenInvalid) as caught:
        make(owner, name="   ")
    assert caught.value.field == "name"


def test_the_last_use_is_written_at_most_once_a_minute(
    app: Flask, owner: factories.Persona, clock: time_machine.Traveller
) -> None:
    secret = make(owner)
    start = utcnow()
    accepted(app, f"Bearer {secret}", TokenScope.READ)
    first = db.session.scalars(select(ApiToken)).one().last_used_at
    assert first is not None and abs((first - start).total_seconds()) < 5
    clock.move_to(start + timedelta(seconds=30))
    accepted(app, f"Bearer {secret}", TokenScope.READ)
    db.session.expire_all()
    assert db.session.scalars(select(ApiToken)).one().last_used_at == first
    clock.move_to(start + timedelta(minutes=2))
    accepted(app, f"Bearer {secret}", TokenScope.READ)
    db.session.expire_all()
    later = db.session.scalars(select(ApiToken)).one().last_used_at
    assert later is not None and later > first + timedelta(minutes=1)


def test_twenty_wrong_tokens_from_one_address_lock_it_out_for_a_minute(
    app: Flask, owner: factories.Persona, clock: time_machine.Traveller
) -> None:
    secret = make(owner)
    wrong = "Bearer oncall_0000abcd_" + "x" * 43
    for _ in range(20):
        assert refused(app, wrong, TokenScope.READ).status == 401
    locked = refused(app, f"Bearer {secret}", TokenScope.READ)
    assert (locked.status, locked.retry_after) == (429, 60)
    assert "Too many wrong tokens" in locked.detail
    assert accepted_from(app, secret, "10.0.0.2").name == "deploy"  # other addresses go on
    clock.move_to(utcnow() + timedelta(minutes=1, seconds=1))
    assert accepted(app, f"Bearer {secret}", TokenScope.READ).name == "deploy"


def accepted_from(app: Flask, secret: str, addr: str) -> ApiToken:
    with app.test_request_context(environ_base={"REMOTE_ADDR": addr}):
        return tokens.authenticate(f"Bearer {secret}", TokenScope.READ)


def test_the_cli_prints_a_working_secret(app: Flask, owner: factories.Persona) -> None:
    result = app.test_cli_runner().invoke(
        args=[
            "tokens",
            "create",
            "--account",
            str(owner.account.id),
            "--name",
            "ci",
            "--scope",
            "write",
        ]
    )
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    token = accepted(app, f"Bearer {secret}", TokenScope.WRITE)
    assert (token.name, token.account_id, token.created_by) == ("ci", owner.account.id, None)


def test_the_cli_finds_the_account_by_name_and_says_when_there_is_none(
    app: Flask, owner: factories.Persona
) -> None:
    runner = app.test_cli_runner()
    by_name = runner.invoke(
        args=["tokens", "create", "--account", owner.account.name, "--name", "r"]
    )
    assert by_name.exit_code == 0, by_name.output
    assert "(read)" in by_name.output
    missing = runner.invoke(args=["tokens", "create", "--account", "No Such", "--name", "r"])
    assert missing.exit_code != 0
    assert "no account has the id or name 'No Such'" in missing.output


def test_the_demo_prints_the_same_working_write_token_on_every_load(app: Flask) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "load"]).output
    again = runner.invoke(args=["demo", "load"]).output
    found = re.search(r"demo API token \(read and write\): (oncall_\S+)", first)
    assert found, first
    secret = found.group(1)
    assert f"curl -H 'Authorization: Bearer {secret}' http" in first
    assert f"demo API token (read and write): {secret}" in again
    assert len(db.session.scalars(select(ApiToken)).all()) == 1
    assert accepted(app, f"Bearer {secret}", TokenScope.WRITE).name == "Demo (curl)"
