"""`flask` commands: the demo, secrets rotation. Feature modules add their own groups."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from webapp import demo, vault
from webapp.extensions import db
from webapp.models import LarkIntegration
from webapp.tokens.commands import tokens_cli

demo_cli = AppGroup("demo", help="The demo account.")
secrets_cli = AppGroup("secrets", help="Secrets encrypted at rest with DATA_KEY.")


@demo_cli.command("load")
def demo_load() -> None:
    """Create (or top up) the demo account; safe to run again."""
    summary = demo.load()
    for line in summary:
        click.echo(line)


@secrets_cli.command("rotate")
def secrets_rotate() -> None:
    """Re-encrypt every stored secret with the newest key in DATA_KEY.

    Put the new key first in DATA_KEY (`new,old`), run this, then drop the old key.
    """
    count = 0
    for integration in db.session.scalars(db.select(LarkIntegration)):
        integration.app_secret_sealed = vault.reseal(integration.app_secret_sealed)
        integration.verification_token_sealed = vault.reseal(integration.verification_token_sealed)
        if integration.encrypt_key_sealed:
            integration.encrypt_key_sealed = vault.reseal(integration.encrypt_key_sealed)
        count += 1
    db.session.commit()
    click.echo(f"re-encrypted the secrets of {count} Lark integration(s)")


@secrets_cli.command("new-key")
def secrets_new_key() -> None:
    """Print a fresh key for DATA_KEY."""
    click.echo(vault.new_key())


def init_app(app: Flask) -> None:
    app.cli.add_command(demo_cli)
    app.cli.add_command(secrets_cli)
    app.cli.add_command(tokens_cli)
