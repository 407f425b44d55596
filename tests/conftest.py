"""Fixtures shared by every test module.

The database comes from TEST_DATABASE_URL (PostgreSQL in the second pass of `make test`),
or a fresh SQLite file. The schema is built once per run; every test starts from empty
tables. `live_server` serves the same app over real HTTP on a free port, so the product
and the Lark sandbox talk to each other exactly as they would across a network.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import BaseWSGIServer, make_server

from tests import factories
from webapp import create_app
from webapp.extensions import db
from webapp.sandbox import inbox as sandbox_inbox

pytest_plugins = [
    "tests.sandbox_fixtures",
    "tests.browser",
    "tests.webhook_fixtures",
    "tests.alert_fixtures",
]

TEST_DATA_KEY = "dGVzdC1vbmx5LWtleS1mb3ItdGhlLXRlc3Qtc3VpdGU="

# The moment every test starts at unless it says another with @pytest.mark.now("..."):
# an ordinary Monday, 10:00 in Beijing, far from any month, year or daylight-saving turn.
# TEST_NOW (ISO 8601) moves it for a whole run, to prove that the tests which do not state
# a moment pass on any day: `TEST_NOW=2027-12-31T23:59:00+08:00 make test`.
DEFAULT_NOW = datetime.fromisoformat(os.environ.get("TEST_NOW") or "2026-06-15T02:00:00+00:00")


@pytest.fixture(autouse=True)
def clock(request: pytest.FixtureRequest) -> Iterator[time_machine.Traveller | None]:
    """Time is chosen, never found: each test runs from a stated moment, and the clock ticks.

    time-machine moves every reader of the clock in this process (the app, the sandbox, the
    live server's threads, lark-oapi). `@pytest.mark.now("2026-12-31T23:59:00+08:00")` picks
    another start; `clock.move_to(...)` jumps during a test.

    Browser tests keep the machine's clock: Chromium is another process whose cookie jar
    reads the real time, so a session cookie set with a stated "now" months away would have
    expired on arrival. Those tests assert nothing that depends on the date; what the date
    changes (reset days, times shown, windows) is pinned at stated moments in the others.
    """
    marker = request.node.get_closest_marker("now")
    if marker is None and request.node.get_closest_marker("browser") is not None:
        yield None
        return
    start = marker.args[0] if marker is not None else DEFAULT_NOW
    with time_machine.travel(start, tick=True) as traveller:
        yield traveller


def database_url(tmp_dir: Path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_dir / 'test.db'}"


def is_postgres() -> bool:
    return (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgresql")


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    tmp = tmp_path_factory.mktemp("app")
    application = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url(tmp),
            "SECRET_KEY": "test-secret",
            "DATA_KEY": TEST_DATA_KEY,
            "LARK_SANDBOX": True,
            "REDIS_URL": "",
            # The webhook tests' receivers listen on 127.0.0.1.
            "WEBHOOKS_ALLOW_LOOPBACK": True,
            # Hashing is deliberately slow in production; the suite signs in hundreds of times.
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    with application.app_context():
        db.drop_all()
        db.create_all()
    server = make_server("127.0.0.1", 0, application, threaded=True)
    application.config["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    application.config["LIVE_SERVER"] = server
    yield application
    server.server_close()
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def _live(app: Flask) -> Iterator[BaseWSGIServer]:
    server: BaseWSGIServer = app.config["LIVE_SERVER"]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.fixture
def live_server(_live: BaseWSGIServer, app: Flask) -> str:
    """The base URL of the app served over real HTTP (same app, same database)."""
    return str(app.config["PUBLIC_BASE_URL"])


@pytest.fixture(autouse=True)
def _clean(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield
        db.session.remove()
        factories.empty_all_tables()
        for reset in app.extensions.get("test_resets", []):
            reset()
        app.extensions["limiter"].reset()


@pytest.fixture
def smtp(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[sandbox_inbox.Inbox]:
    """A real SMTP server in this process; SMTP_URL points at it."""
    server, url = sandbox_inbox.serve()
    monkeypatch.setitem(app.config, "SMTP_URL", url)
    monkeypatch.setitem(app.config, "MAIL_FROM", "oncall@example.com")
    sandbox_inbox.inbox.reset()
    yield sandbox_inbox.inbox
    server.stop()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def owner() -> factories.Persona:
    return factories.persona("owner")


@pytest.fixture
def member(owner: factories.Persona) -> factories.Persona:
    return factories.persona("member", account=owner.member.account)


@pytest.fixture
def outsider() -> factories.Persona:
    """A member of another account."""
    return factories.persona("outsider")


_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token a browser would have, read from a page's meta tag."""
    page = client.get(path).get_data(as_text=True)
    match = _CSRF.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: FlaskClient, persona: factories.Persona) -> None:
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={"email": persona.member.email, "password": persona.password, "csrf_token": token},
    )
    assert response.status_code == 303, response.get_data(as_text=True)
