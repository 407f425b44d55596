"""Lark login for web apps: the authorize page, the v2 token endpoint, user_info.

Sources: docs/lark/login.md (#authorize, #token and its error codes, #user-info,
#redirect-allowlist). Choices where they are silent: decisions.py.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import Response, g, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from webapp.sandbox import decisions, lark_session, tokens
from webapp.sandbox.openapi import LarkApiError, gateway, reply
from webapp.sandbox.state import App, Sandbox, User

bp = gateway("lark_sandbox_oauth", __name__)

AUTHORIZE = "/authen/v1/authorize"


def allowed_redirect(app: App, redirect_uri: str) -> bool:
    """Exact scheme, host, port and path; query and fragment ignored on both sides."""
    wanted = _bare(redirect_uri)
    return bool(wanted) and any(_bare(entry) == wanted for entry in app.redirect_urls)


def _bare(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc.lower()}{parts.path}"


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = "&".join(p for p in (parts.query, urlencode(params)) if p)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


@bp.route(AUTHORIZE, methods=["GET", "POST"])
def authorize() -> BaseResponse | tuple[str, int]:
    sandbox: Sandbox = g.lark_sandbox
    params = request.values
    app_id = params.get("client_id") or params.get("app_id") or ""
    redirect_uri = params.get("redirect_uri", "")
    with sandbox.lock:
        app = sandbox.apps.get(app_id)
    if app is None or not allowed_redirect(app, redirect_uri):
        return render_template("sandbox/oauth_error.html", code=20029, app=app), 400
    g.lark_app_id = app.app_id
    user = _chosen_user(sandbox)
    if request.method == "POST":
        return _decided(sandbox, app, user, redirect_uri)
    if user is not None and lark_session.inside_client(app.app_id):
        return _grant(sandbox, app, user, redirect_uri)
    with sandbox.lock:
        people = list(sandbox.users.values())
    scopes = [s for s in params.get("scope", "").split() if s]
    page = render_template(
        "sandbox/authorize.html", app=app, user=user, people=people, params=params, scopes=scopes
    )
    return Response(page)


def _chosen_user(sandbox: Sandbox) -> User | None:
    chosen = request.form.get("open_id") if request.method == "POST" else None
    if chosen:
        with sandbox.lock:
            return sandbox.users.get(chosen)
    return lark_session.current_user(sandbox)


def _decided(sandbox: Sandbox, app: App, user: User | None, redirect_uri: str) -> BaseResponse:
    state = request.values.get("state", "")
    if request.form.get("decision") != "allow" or user is None:
        extra = {"state": state} if state else {}
        return redirect(_with_query(redirect_uri, error="access_denied", **extra), 302)
    response = _grant(sandbox, app, user, redirect_uri)
    lark_session.sign_in(response, user.open_id)
    return response


def _grant(sandbox: Sandbox, app: App, user: User, redirect_uri: str) -> BaseResponse:
    values = request.values
    code = issue_code(
        sandbox,
        app.app_id,
        user.open_id,
        redirect_uri,
        scope=values.get("scope", ""),
        code_challenge=values.get("code_challenge", ""),
        method=values.get("code_challenge_method", "plain") or "plain",
    )
    extra = {"state": values["state"]} if values.get("state") else {}
    return redirect(_with_query(redirect_uri, code=code, **extra), 302)


def issue_code(
    sandbox: Sandbox,
    app_id: str,
    open_id: str,
    redirect_uri: str | None,
    *,
    scope: str = "",
    code_challenge: str = "",
    method: str = "plain",
) -> str:
    """An authorization code: 5 minutes, single use (also what lark.oauth_code() returns)."""
    code = secrets.token_urlsafe(48)
    with sandbox.lock:
        sandbox.oauth_codes[code] = {
            "app_id": app_id,
            "open_id": open_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "challenge": code_challenge,
            "method": method,
            "at": sandbox.now(),
            "used": False,
        }
    return code


# --- v2 token endpoint ------------------------------------------------------------------


def _oauth_error(code: int, error: str, description: str, status: int = 400) -> LarkApiError:
    body = {"code": code, "error": error, "error_description": description}
    return LarkApiError(status, code, description, body=body)


@bp.post("/authen/v2/oauth/token")
def oauth_token() -> Response:
    sandbox: Sandbox = g.lark_sandbox
    data = _token_params()
    app = _client(sandbox, data)
    g.lark_app_id = app.app_id
    grant = data.get("grant_type")
    if grant == "authorization_code":
        return _by_code(sandbox, app, data)
    if grant == "refresh_token":
        return _by_refresh(sandbox, app, data)
    raise _oauth_error(20036, "unsupported_grant_type", "The grant_type is not supported.")


def _token_params() -> dict[str, Any]:
    data = request.get_json(silent=True, force=True)
    return data if isinstance(data, dict) else request.form.to_dict()


def _client(sandbox: Sandbox, data: dict[str, Any]) -> App:
    basic = request.authorization
    if basic is not None and basic.type == "basic" and data.get("client_secret"):
        raise _oauth_error(
            20070, "invalid_request", "Use either HTTP Basic or client_secret, not both."
        )
    client_id = str(data.get("client_id") or (basic.username if basic else "") or "")
    secret = str(data.get("client_secret") or (basic.password if basic else "") or "")
    if not client_id or not secret:
        raise _oauth_error(20001, "invalid_request", "The request is missing a required parameter.")
    with sandbox.lock:
        app = sandbox.apps.get(client_id)
    if app is None:
        raise _oauth_error(20048, "invalid_client", "The app does not exist.")
    if not secrets.compare_digest(app.app_secret.encode(), secret.encode()):
        raise _oauth_error(20002, "invalid_client", "The client secret is invalid.")
    return app


def _by_code(sandbox: Sandbox, app: App, data: dict[str, Any]) -> Response:
    code = str(data.get("code") or "")
    with sandbox.lock:
        grant = sandbox.oauth_codes.get(code)
        _check_code(sandbox, app, grant, data)
        assert grant is not None
        grant["used"] = True
        user = sandbox.users[grant["open_id"]]
        if user.tenant_key == app.tenant_key and not sandbox.visible(app, user):
            raise _oauth_error(20010, "invalid_grant", "The user is not allowed to use the app.")
    return _tokens(sandbox, app, user, grant["scope"])


def _check_code(
    sandbox: Sandbox, app: App, grant: dict[str, Any] | None, data: dict[str, Any]
) -> None:
    if grant is None:
        raise _oauth_error(20003, "invalid_grant", "The authorization code is not found.")
    if grant["used"]:
        raise _oauth_error(20065, "invalid_grant", "The authorization code has been used.")
    if sandbox.now() - grant["at"] > decisions.OAUTH_CODE_LIFETIME_S:
        raise _oauth_error(20004, "invalid_grant", "The authorization code has expired.")
    if grant["app_id"] != app.app_id:
        raise _oauth_error(20024, "invalid_grant", "The code belongs to another app.")
    sent_uri = data.get("redirect_uri")
    if grant["redirect_uri"] and sent_uri is not None and sent_uri != grant["redirect_uri"]:
        raise _oauth_error(20071, "invalid_grant", "The redirect_uri does not match.")
    if not _pkce_ok(grant, str(data.get("code_verifier") or "")):
        raise _oauth_error(20049, "invalid_grant", "The code_verifier check failed (PKCE).")


def _pkce_ok(grant: dict[str, Any], verifier: str) -> bool:
    challenge = grant["challenge"]
    if not challenge:
        return True  # v2 accepts a verifier without a challenge (v3 would not)
    if grant["method"] == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        computed = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    else:
        computed = verifier
    return secrets.compare_digest(computed.encode(), challenge.encode())


def _by_refresh(sandbox: Sandbox, app: App, data: dict[str, Any]) -> Response:
    raw = str(data.get("refresh_token") or "")
    token = tokens.parse(raw, "refresh", sandbox.now())
    with sandbox.lock:
        if token is None or token.app_id != app.app_id:
            raise _oauth_error(20026, "invalid_grant", "The refresh token is invalid.")
        if raw in sandbox.used_refresh:
            raise _oauth_error(20064, "invalid_grant", "The refresh token has been revoked.")
        sandbox.used_refresh.add(raw)
        user = sandbox.users[token.open_id]
    return _tokens(sandbox, app, user, token.scope)


def _tokens(sandbox: Sandbox, app: App, user: User, scope: str) -> Response:
    now = sandbox.now()
    access = tokens.Token("user", app.app_id, now, user.open_id, scope, secrets.token_hex(4))
    answer: dict[str, Any] = {
        "code": 0,
        "access_token": tokens.mint(access),
        "expires_in": decisions.USER_TOKEN_LIFETIME_S,
        "scope": scope,
        "token_type": "Bearer",
    }
    if "offline_access" in scope.split():
        refresh = tokens.Token(
            "refresh", app.app_id, now, user.open_id, scope, secrets.token_hex(4)
        )
        answer["refresh_token"] = tokens.mint(refresh)
        answer["refresh_token_expires_in"] = decisions.REFRESH_TOKEN_LIFETIME_S
    return reply(answer)


# --- user_info --------------------------------------------------------------------------


@bp.get("/authen/v1/user_info")
def user_info() -> Response:
    sandbox: Sandbox = g.lark_sandbox
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        raise LarkApiError(400, 99991661, "Missing access token for authorization.")
    token = tokens.parse(header[7:].strip(), "user", sandbox.now())
    with sandbox.lock:
        user = sandbox.users.get(token.open_id) if token else None
    if token is None or user is None:
        return reply({"code": 20005, "msg": "The user access token is invalid."})
    g.lark_app_id = token.app_id
    if user.resigned:
        return reply({"code": 20021, "msg": "The user has resigned."})
    return reply({"code": 0, "msg": "success", "data": profile(sandbox, user)})


def profile(sandbox: Sandbox, user: User) -> dict[str, Any]:
    avatar = f"{sandbox.base_url}/_lark/avatars/{user.open_id}.svg"
    return {
        "name": user.name,
        "en_name": user.en_name,
        "avatar_url": avatar,
        "avatar_thumb": avatar,
        "avatar_middle": avatar,
        "avatar_big": avatar,
        "open_id": user.open_id,
        "union_id": user.union_id,
        "email": user.email,
        "enterprise_email": user.email,
        "user_id": user.user_id,
        "mobile": user.mobile,
        "tenant_key": user.tenant_key,
        "employee_no": user.user_id,
    }
