"""The Open API gateway of the sandbox: /_lark/open-apis/..., with Lark's shapes and codes.

Every call passes the same gate as on Lark: injected faults, then the access token
(99991661 missing, 99991663 invalid), the free edition's monthly quota (429, 99991403),
the per API x app rate limits (429, 99991400). Successful counted calls use up quota;
every call is logged for tests (`lark.calls(...)`). The endpoints themselves live in
im.py, chats.py and oauth.py, each a `gateway` blueprint; the token endpoints are here.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from webapp.sandbox import decisions, faults, limits, state, tokens
from webapp.sandbox.state import App, Call, Edition, Sandbox


class LarkApiError(Exception):
    """An error answer: HTTP status and Lark's {"code", "msg"} (or a custom body)."""

    def __init__(
        self,
        status: int,
        code: int,
        msg: str,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code} {msg}")
        self.status, self.code, self.msg = status, code, msg
        self.headers = headers or {}
        self.body = body


def reply(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["X-Tt-Logid"] = time.strftime("%Y%m%d%H%M%S") + secrets.token_hex(10)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def ok(data: dict[str, Any] | None = None, msg: str = "success") -> Response:
    return reply({"code": 0, "msg": msg, "data": data if data is not None else {}})


def invalid(msg: str, code: int = 230001) -> LarkApiError:
    return LarkApiError(400, code, f"Your request contains an invalid request parameter, ext={msg}")


def _lark_error(error: LarkApiError) -> Response:
    body = error.body or {"code": error.code, "msg": error.msg}
    return reply(body, error.status, error.headers)


def _gate() -> Response | None:
    sandbox = state.get()
    g.lark_sandbox = sandbox
    fault = sandbox.faults.take(_path(), sandbox.now())
    if fault is None:
        return None
    if fault.hang:
        time.sleep(fault.hang)
    if fault.status is None and fault.code is None:
        return None
    status, body, headers = faults.answer(fault)
    return reply(body, status, headers)


def _log(response: Response) -> Response:
    sandbox: Sandbox | None = g.get("lark_sandbox")
    if sandbox is None:
        return response
    code = None
    if response.is_json:
        payload = response.get_json(silent=True)
        code = payload.get("code") if isinstance(payload, dict) else None
    body = request.get_json(silent=True, force=True) if request.data else request.form.to_dict()
    call = Call(
        sandbox.now(),
        request.method,
        _path(),
        request.args.to_dict(),
        body,
        response.status_code,
        code,
        g.get("lark_app_id"),
    )
    with sandbox.lock:
        sandbox.calls.append(call)
    return response


def gateway(name: str, import_name: str) -> Blueprint:
    """A blueprint of Open API endpoints under /_lark/open-apis, behind Lark's gate: injected
    faults first, Lark's error shape for LarkApiError, and every call logged."""
    blueprint = Blueprint(name, import_name, url_prefix="/_lark/open-apis")
    blueprint.register_error_handler(LarkApiError, _lark_error)
    blueprint.before_request(_gate)
    blueprint.after_request(_log)
    return blueprint


bp = gateway("lark_sandbox_api", __name__)


def _path() -> str:
    return request.path[len("/_lark") :]


def body() -> dict[str, Any]:
    data = request.get_json(silent=True, force=True)
    if isinstance(data, dict):
        return data
    return request.form.to_dict()


def lark_api(name: str) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Decorate an endpoint that needs a tenant_access_token; the view gets the App."""

    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        @wraps(view)
        def gated(**kwargs: Any) -> Response:
            sandbox: Sandbox = g.lark_sandbox
            app = _tenant_app(sandbox)
            counted = limits.is_counted(_path())
            if counted:
                _check_quota(sandbox, app)
            _check_rate(sandbox, app, name)
            response = view(app, **kwargs)
            if counted and response.status_code == 200 and _code(response) == 0:
                _count(sandbox, app)
            return response

        return gated

    return decorate


def _tenant_app(sandbox: Sandbox) -> App:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        raise LarkApiError(
            decisions.HTTP_STATUS_AUTH_ERRORS,
            99991661,
            "Missing access token for authorization. Please make a request with token attached.",
        )
    token = tokens.parse(header[7:].strip(), "tenant", sandbox.now())
    with sandbox.lock:
        app = sandbox.apps.get(token.app_id) if token else None
    if app is None:
        raise LarkApiError(
            decisions.HTTP_STATUS_AUTH_ERRORS,
            99991663,
            "Invalid access token for authorization. Please make a request with token attached.",
        )
    g.lark_app_id = app.app_id
    return app


def _check_quota(sandbox: Sandbox, app: App) -> None:
    with sandbox.lock:
        tenant = sandbox.tenants[app.tenant_key]
        used = tenant.usage.get(limits.month_of(sandbox.now()), 0)
        if tenant.edition is Edition.FREE and used >= tenant.monthly_quota:
            raise LarkApiError(429, 99991403, "This month's API call quota has been exceeded")


def _check_rate(sandbox: Sandbox, app: App, name: str) -> None:
    wait = sandbox.limits.hit(f"api:{app.app_id}:{name}", sandbox.now(), limits.api_limits())
    if wait is not None:
        per_minute = wait > 1.0  # only the minute window makes anyone wait over a second
        headers = {
            "x-ogw-ratelimit-limit": str(
                decisions.API_PER_MINUTE if per_minute else decisions.API_PER_SECOND
            ),
            "x-ogw-ratelimit-reset": limits.reset_header(wait),
        }
        raise LarkApiError(429, 99991400, "request trigger frequency limit", headers)


def check_receiver_rate(sandbox: Sandbox, key: str) -> None:
    """5/s to one user, one chat or one message: HTTP 400, 230020."""
    if sandbox.limits.hit(key, sandbox.now(), limits.receiver_limits()) is not None:
        raise LarkApiError(400, 230020, "This operation triggers the frequency limit.")


def _count(sandbox: Sandbox, app: App) -> None:
    with sandbox.lock:
        usage = sandbox.tenants[app.tenant_key].usage
        month = limits.month_of(sandbox.now())
        usage[month] = usage.get(month, 0) + 1


def _code(response: Response) -> int | None:
    payload = response.get_json(silent=True)
    return payload.get("code") if isinstance(payload, dict) else None


# --- auth/v3: tenant and app access tokens ----------------------------------------------


@bp.post("/auth/v3/tenant_access_token/internal")
def tenant_access_token() -> Response:
    return _issue("tenant")


@bp.post("/auth/v3/app_access_token/internal")
def app_access_token() -> Response:
    return _issue("app")


def _issue(kind: str) -> Response:
    sandbox: Sandbox = g.lark_sandbox
    data = body()
    app = authenticate_app(sandbox, str(data.get("app_id", "")), str(data.get("app_secret", "")))
    g.lark_app_id = app.app_id
    _check_rate(sandbox, app, f"auth:{kind}")
    token, expire = current_token(sandbox, kind, app.app_id)
    answer: dict[str, Any] = {
        "code": 0,
        "msg": "ok",
        f"{kind}_access_token": token,
        "expire": expire,
    }
    if kind == "app":
        answer["tenant_access_token"], _ = current_token(sandbox, "tenant", app.app_id)
    return reply(answer)


def authenticate_app(sandbox: Sandbox, app_id: str, app_secret: str) -> App:
    with sandbox.lock:
        app = sandbox.apps.get(app_id)
    if app is None:
        raise LarkApiError(
            decisions.HTTP_STATUS_AUTH_ERRORS, decisions.CODE_UNKNOWN_APP, "invalid param"
        )
    if not secrets.compare_digest(app.app_secret.encode(), app_secret.encode()):
        raise LarkApiError(
            decisions.HTTP_STATUS_AUTH_ERRORS, decisions.CODE_BAD_SECRET, "app secret invalid"
        )
    return app


def current_token(sandbox: Sandbox, kind: str, app_id: str) -> tuple[str, int]:
    """The same token while >= 30 min remain, a fresh one after (documented rule)."""
    now = sandbox.now()
    with sandbox.lock:
        held = sandbox.current_tenant_token.get(f"{kind}:{app_id}")
        if held is None or held[1] - now < decisions.TOKEN_REISSUE_BELOW_S:
            raw = tokens.mint(tokens.Token(kind, app_id, now, nonce=secrets.token_hex(4)))
            held = (raw, now + decisions.TOKEN_LIFETIME_S)
            sandbox.current_tenant_token[f"{kind}:{app_id}"] = held
    return held[0], int(held[1] - now)
