"""SQLite, the embedded default, set up to behave like the PostgreSQL we run in production."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event

from webapp.extensions import db


def init_app(app: Flask) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    with app.app_context():
        event.listen(db.engine, "connect", _pragmas)


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web server read while the outbox worker (another process) writes;
    # NORMAL syncs at checkpoints rather than on every commit, safe with WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Enforce foreign keys (and ON DELETE CASCADE) as PostgreSQL does.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
