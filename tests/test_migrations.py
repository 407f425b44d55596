"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect

from tests.conftest import TEST_DATA_KEY, is_postgres
from webapp import create_app
from webapp.extensions import db


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it, of the kind this test pass runs on."""
    if not is_postgres():
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    base = os.environ["TEST_DATABASE_URL"]
    name = f"migrations_{uuid.uuid4().hex[:8]}"
    admin = base.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield base.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrated_app(url: str) -> Flask:
    return create_app(
        {"DATABASE_URL": url, "SECRET_KEY": "x", "DATA_KEY": TEST_DATA_KEY, "TESTING": True}
    )


def test_upgrading_an_empty_database_matches_the_models(empty_database: str) -> None:
    app = migrated_app(empty_database)
    with app.app_context():
        upgrade()
        engine = create_engine(empty_database)
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "render_as_batch": True}
            )
            differences = compare_metadata(context, db.metadata)
        engine.dispose()
        db.engine.dispose()
    assert differences == []


def test_the_migrations_go_down_to_nothing_and_up_again(empty_database: str) -> None:
    app = migrated_app(empty_database)
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        engine = create_engine(empty_database)
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "incident" in inspect(engine).get_table_names()
        engine.dispose()
        db.engine.dispose()
