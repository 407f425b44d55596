"""The composition root: `create_app` builds the whole product from its settings."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from webapp import config as settings
from webapp.extensions import babel, compress, csrf, db, htmx, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.from_mapping(settings.from_environment(_env_with(config)))
    if config:
        app.config.from_mapping(config)
    Path(app.instance_path).mkdir(exist_ok=True)
    register_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_cli(app)
    return app


def _env_with(config: Mapping[str, Any] | None) -> Mapping[str, str]:
    """Settings given to `create_app` stand in for environment variables of the same name."""
    env = dict(os.environ)
    for name, value in (config or {}).items():
        if isinstance(value, str):
            env[name] = value
        elif isinstance(value, bool):
            env[name] = "1" if value else "0"
    return env


def register_logging(app: Flask) -> None:
    if not app.debug and not app.testing:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )


def register_extensions(app: Flask) -> None:
    from webapp import headers, i18n, ratelimit, sqlite
    from webapp.delivery import worker as outbox
    from webapp.dispatch import policy as dispatch
    from webapp.identity import login
    from webapp.insights import digest
    from webapp.views import language
    from webapp.webhooks import emit as webhooks

    db.init_app(app)
    sqlite.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    htmx.init_app(app)
    # gzip when the client asks (the list region is ~100 KB of repetitive HTML).
    app.config.setdefault("COMPRESS_ALGORITHM", ["gzip"])
    compress.init_app(app)
    babel.init_app(
        app, locale_selector=language.select_locale, timezone_selector=language.select_timezone
    )
    login.init_app(app, login_manager)
    i18n.init_app(app)
    ratelimit.init_app(app)
    dispatch.init_app(app)
    outbox.init_app(app)
    digest.init_app(app)  # the weekly digest: a `flask insights` command, a periodic job
    webhooks.init_app(app)  # every timeline event queues its webhook rows in its transaction
    headers.init_app(app)


def register_blueprints(app: Flask) -> None:
    from webapp import api as api_v1
    from webapp.diagnostics import report as diagnostics
    from webapp.views import (
        admin,
        alertmanager,
        api,
        auth,
        card,
        declare,
        errors,
        events,
        health,
        heartbeats,
        insights,
        lark_home,
        lark_pages,
        lark_settings,
        members,
        noise,
        paging,
        ping,
        security,
        silences,
        sources,
        tokens,
        vocabulary,
        war_room,
        webhooks,
    )
    from webapp.views import dispatch as dispatch_views
    from webapp.views import incidents as incidents_web
    from webapp.views import schedules as schedules_views

    for module in (
        health,
        auth,
        api,
        alertmanager,
        lark_home,
        lark_pages,
        lark_settings,
        admin,
        members,
        card,
        events,
        insights,
        sources,
        security,
        silences,
        ping,
        webhooks,
        heartbeats,
        tokens,
        paging,
        war_room,
        declare,
        noise,
    ):
        app.register_blueprint(module.bp)
    api_v1.init_app(app)
    diagnostics.init_app(app)
    incidents_web.init_app(app)
    dispatch_views.init_app(app)
    schedules_views.init_app(app)
    errors.init_app(app)
    vocabulary.init_app(app)
    if app.config["LARK_SANDBOX"]:
        from webapp import sandbox

        sandbox.init_app(app)


def register_cli(app: Flask) -> None:
    from webapp import cli

    cli.init_app(app)
