"""`flask tokens create`: an API token for scripts and tests, its secret printed once."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from webapp.extensions import db
from webapp.tokens import service

tokens_cli = AppGroup("tokens", help="API tokens of the REST API (/api/v1/).")


@tokens_cli.command("create")
@click.option("--account", "account_ref", required=True, help="The account's id or name.")
@click.option("--name", required=True, help="What uses the token, e.g. deploy-pipeline.")
@click.option(
    "--scope",
    type=click.Choice([s.value for s in service.TokenScope]),
    default=service.TokenScope.READ.value,
    show_default=True,
    help="read, or write (which also reads).",
)
@click.option(
    "--expires",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S%z"]),
    default=None,
    help="When it stops working (UTC when no offset is given); never by default.",
)
def tokens_create(account_ref: str, name: str, scope: str, expires: datetime | None) -> None:
    """Make a token and print its secret (shown this once only)."""
    account = service.account_by_ref(account_ref)
    if account is None:
        raise click.ClickException(f"no account has the id or name {account_ref!r}")
    when = service.as_utc(expires) if expires is not None else None
    try:
        token, secret = service.create(account.id, name, service.TokenScope(scope), when, None)
    except service.TokenInvalid as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc.field}: {exc}") from exc
    click.echo(f"API token {token.name!r} ({token.scope}) for {account.name}:")
    click.echo(secret)
