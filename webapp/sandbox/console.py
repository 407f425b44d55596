"""The developer console of the sandbox, per app: what the admin copies from and pastes into
Lark's open platform console (credentials, security settings, visibility, callbacks).
"""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from webapp.sandbox import lark_session, limits, seed, state, url_check
from webapp.sandbox.state import CARD_CALLBACKS, CHAT_EVENTS, App, Edition, Sandbox

bp = Blueprint("lark_sandbox_console", __name__, url_prefix="/_lark/console")


@bp.get("/")
def index() -> str:
    sandbox = state.get()
    with sandbox.lock:
        apps = sorted(sandbox.apps.values(), key=lambda a: a.name)
        tenants = list(sandbox.tenants.values())
    return render_template(
        "sandbox/console/index.html",
        apps=apps,
        tenants=tenants,
        lark_user=lark_session.current_user(sandbox),
    )


@bp.post("/apps")
def create() -> BaseResponse:
    sandbox = state.get()
    name = request.form.get("name", "").strip()[:60] or "On-call"
    tenant_key = request.form.get("tenant_key", seed.TENANT_KEY)
    if tenant_key not in sandbox.tenants:
        abort(400)
    app = sandbox.create_app(name, tenant_key)
    return redirect(url_for(".app", app_id=app.app_id), 303)


def _app(sandbox: Sandbox, app_id: str) -> App:
    app = sandbox.apps.get(app_id)
    if app is None:
        abort(404)
    return app


@bp.get("/apps/<app_id>")
def app(app_id: str) -> str:
    sandbox = state.get()
    with sandbox.lock:
        found = _app(sandbox, app_id)
        tenant = sandbox.tenants[found.tenant_key]
        people = [u for u in sandbox.users.values() if u.tenant_key == found.tenant_key]
        usage = tenant.usage.get(limits.month_of(sandbox.now()), 0)
    return render_template(
        "sandbox/console/app.html",
        app=found,
        tenant=tenant,
        usage=usage,
        people=people,
        callbacks=CARD_CALLBACKS,
        chat_events=CHAT_EVENTS,
        saved=request.args.get("saved", ""),
        lark_user=lark_session.current_user(sandbox),
    )


def _saved(app_id: str, section: str) -> BaseResponse:
    return redirect(url_for(".app", app_id=app_id, saved=section) + f"#{section}", 303)


@bp.post("/apps/<app_id>/credentials")
def credentials(app_id: str) -> BaseResponse:
    sandbox = state.get()
    with sandbox.lock:
        found = _app(sandbox, app_id)
        what = request.form.get("reset")
        if what == "app_secret":
            found.app_secret = secrets.token_urlsafe(24)
        elif what == "verification_token":
            found.verification_token = secrets.token_urlsafe(18)
        elif what == "encrypt_key":
            found.encrypt_key = secrets.token_urlsafe(18)
        elif what == "clear_encrypt_key":
            found.encrypt_key = ""
    return _saved(app_id, "credentials")


@bp.post("/apps/<app_id>/web")
def web(app_id: str) -> BaseResponse:
    sandbox = state.get()
    with sandbox.lock:
        found = _app(sandbox, app_id)
        found.homepage_url = request.form.get("homepage_url", "").strip()
        lines = request.form.get("redirect_urls", "").splitlines()
        found.redirect_urls = [line.strip() for line in lines if line.strip()][:300]
    return _saved(app_id, "web")


@bp.post("/apps/<app_id>/visibility")
def visibility(app_id: str) -> BaseResponse:
    sandbox = state.get()
    with sandbox.lock:
        found = _app(sandbox, app_id)
        if request.form.get("scope") == "all":
            found.visibility = None
        else:
            chosen = set(request.form.getlist("open_id"))
            found.visibility = {o for o in chosen if o in sandbox.users}
    return _saved(app_id, "visibility")


@bp.post("/apps/<app_id>/callbacks")
def subscriptions(app_id: str) -> BaseResponse:
    sandbox = state.get()
    with sandbox.lock:
        found = _app(sandbox, app_id)
        found.callbacks = {c for c in request.form.getlist("callback") if c in CARD_CALLBACKS}
    return _saved(app_id, "callbacks")


@bp.post("/apps/<app_id>/card-url")
def card_url(app_id: str) -> BaseResponse:
    """Save the card request URL: Lark first runs url_verification (1 s) against it."""
    sandbox = state.get()
    with sandbox.lock:
        _app(sandbox, app_id)
    url = request.form.get("card_request_url", "").strip()
    if url:
        url_check.verify_url(sandbox, app_id, url)
    return _saved(app_id, "callbacks")


@bp.post("/apps/<app_id>/events")
def event_subscriptions(app_id: str) -> BaseResponse:
    sandbox = state.get()
    with sandbox.lock:
        found = _app(sandbox, app_id)
        found.events = {e for e in request.form.getlist("event") if e in CHAT_EVENTS}
    return _saved(app_id, "events")


@bp.post("/apps/<app_id>/event-url")
def event_url(app_id: str) -> BaseResponse:
    """Save the event request URL: Lark first runs url_verification (1 s) against it."""
    sandbox = state.get()
    with sandbox.lock:
        _app(sandbox, app_id)
    url = request.form.get("event_request_url", "").strip()
    if url:
        url_check.verify_url(sandbox, app_id, url, events=True)
    return _saved(app_id, "events")


@bp.post("/apps/<app_id>/edition")
def edition(app_id: str) -> BaseResponse:
    sandbox = state.get()
    with sandbox.lock:
        tenant = sandbox.tenants[_app(sandbox, app_id).tenant_key]
        tenant.edition = Edition.PAID if request.form.get("edition") == "paid" else Edition.FREE
        tenant.monthly_quota = _number(request.form.get("monthly_quota"), tenant.monthly_quota)
        month = limits.month_of(sandbox.now())
        tenant.usage[month] = _number(request.form.get("usage"), tenant.usage.get(month, 0))
    return _saved(app_id, "edition")


def _number(raw: str | None, default: int) -> int:
    try:
        return max(0, int(raw or ""))
    except ValueError:
        return default
