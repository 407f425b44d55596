"""The Lark sandbox: a local stand-in for the Lark Open Platform and client, under /_lark/.

Enabled only when LARK_SANDBOX is on (the demo and the tests), never in production. The
product reaches it over HTTP at PUBLIC_BASE_URL + "/_lark", exactly as it reaches
https://open.feishu.cn; it never imports this package.
"""

from __future__ import annotations

from flask import Flask

from webapp.extensions import csrf
from webapp.sandbox import (
    chats,
    client,
    console,
    control,
    im,
    inbox,
    oauth,
    openapi,
    state,
    talk,
    urgent,
)


def init_app(app: Flask) -> None:
    """Mount the Open API, OAuth, client, console and control endpoints; reset per test."""
    blueprints = (
        openapi.bp,
        im.bp,
        urgent.bp,
        chats.bp,
        oauth.bp,
        control.bp,
        client.bp,
        talk.bp,
        console.bp,
        inbox.bp,
    )
    for blueprint in blueprints:
        # The sandbox stands in for an external system (Lark's servers and client): its
        # endpoints are called by the product's HTTP client or by the person playing a Lark
        # user, never by the product's own forms, so Flask-WTF's CSRF check does not apply.
        csrf.exempt(blueprint)
        app.register_blueprint(blueprint)
    app.jinja_env.globals["ChatState"] = state.ChatState  # its templates compare against it
    app.extensions.setdefault("test_resets", []).append(state.reset)
    app.extensions["test_resets"].append(inbox.inbox.reset)
