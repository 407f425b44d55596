"""Flask-Login wiring and the safe-redirect rule for `next`."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask
from flask_babel import lazy_gettext
from flask_login import LoginManager

from webapp.identity import sessions


def init_app(app: Flask, manager: LoginManager) -> None:
    manager.init_app(app)
    manager.login_view = "auth.login"
    manager.login_message = lazy_gettext("Please sign in to continue.")
    manager.user_loader(sessions.member_for_request)


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths: no scheme, no host, no `//evil.example` or backslash tricks."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target
