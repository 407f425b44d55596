"""A small JSON API to drive the sandbox from another process (benchmarks, scripts).

/_lark/_faults            POST add a fault, GET list, DELETE clear
/_lark/_control/...       limits on/off, quota and usage, extra people and chats, the
                          messages received (counted by uuid), the call log, reset.
Not part of Lark: these paths start with an underscore.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, request

from webapp.sandbox import seed, state
from webapp.sandbox.handle import LarkSandbox

bp = Blueprint("lark_sandbox_control", __name__, url_prefix="/_lark")


def _handle() -> LarkSandbox:
    return LarkSandbox(current_app._get_current_object())  # type: ignore[attr-defined]


def _json() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400)
    return data


@bp.post("/_faults")
def add_fault() -> tuple[Response, int]:
    data = _json()
    fields = {k: data.get(k) for k in ("status", "hang", "code", "times", "seconds")}
    try:
        _handle().fail(str(data.get("path", "*")), **fields)
    except (ValueError, TypeError) as error:
        return jsonify(error=str(error)), 400
    return jsonify(faults=state.get().faults.listing(state.get().now())), 201


@bp.get("/_faults")
def list_faults() -> Response:
    sandbox = state.get()
    return jsonify(faults=sandbox.faults.listing(sandbox.now()))


@bp.delete("/_faults")
def clear_faults() -> tuple[str, int]:
    state.get().faults.clear()
    return "", 204


@bp.post("/_control/limits")
def set_limits() -> Response:
    enabled = bool(_json().get("enabled", True))
    _handle().limits(enabled)
    return jsonify(enabled=enabled)


@bp.post("/_control/quota")
def set_quota() -> Response:
    data = _json()
    handle = _handle()
    tenant = str(data.get("tenant_key") or seed.TENANT_KEY)
    handle.set_quota(
        tenant,
        edition=data.get("edition"),
        monthly_quota=data.get("monthly_quota"),
        usage=data.get("usage"),
    )
    handle.set_buzz_quota(tenant, data.get("buzz_quota"), data.get("buzz_used"))
    return jsonify(tenant_key=tenant, usage=handle.usage(tenant), buzz=handle.buzz_usage(tenant))


@bp.post("/_control/scopes")
def set_scopes() -> Response:
    """The urgent scopes an app holds (as the tenant admin approved them)."""
    data = _json()
    scopes = [str(s) for s in data.get("scopes") or []]
    _handle().set_scopes(str(data.get("app_id") or seed.DEMO_APP_ID), scopes)
    return jsonify(scopes=scopes)


@bp.post("/_control/chats/<chat_id>/urgent")
def set_chat_urgent(chat_id: str) -> Response:
    """A group's 谁可以加急 setting: all_members, or only_owner (owner and admins)."""
    data = _json()
    setting = "only_owner" if data.get("setting") == "only_owner" else "all_members"
    _handle().set_chat_urgent(chat_id, setting, bool(data.get("bot_admin")))
    return jsonify(chat_id=chat_id, setting=setting)


@bp.post("/_control/users")
def add_users() -> Response:
    """Add `count` people to the seeded tenant (named "<prefix> N", emails at example.com)."""
    data = _json()
    prefix = str(data.get("prefix") or "user")
    handle = _handle()
    people = [
        handle.add_user(f"{prefix} {n}", f"{prefix}.{n}@example.com", f"+86139{n:08d}")
        for n in range(int(data.get("count", 1)))
    ]
    return jsonify(
        users=[{"open_id": u.open_id, "email": u.email, "mobile": u.mobile} for u in people]
    )


@bp.post("/_control/chats")
def add_chats() -> Response:
    """Add `count` group chats with the demo bot and the given members (open_ids)."""
    data = _json()
    handle = _handle()
    members = [str(m) for m in data.get("members") or []]
    chats = [
        handle.create_chat(f"{data.get('prefix', 'chat')} {n}", members)
        for n in range(int(data.get("count", 1)))
    ]
    return jsonify(chats=[c.chat_id for c in chats])


@bp.get("/_control/messages")
def messages() -> Response:
    sandbox = state.get()
    pattern = request.args.get("uuid", "*")
    with sandbox.lock:
        found = [m for m in sandbox.messages.values() if fnmatch.fnmatchcase(m.uuid, pattern)]
        rows = [
            {
                "message_id": m.message_id,
                "chat_id": m.chat_id,
                "uuid": m.uuid,
                "updates": len(m.history),
            }
            for m in found
        ]
    return jsonify(count=len(rows), messages=rows)


@bp.get("/_control/calls")
def calls() -> Response:
    found = _handle().calls(request.args.get("path"), request.args.get("method"))
    rows = [
        {
            "at": c.at,
            "method": c.method,
            "path": c.path,
            "status": c.status,
            "code": c.code,
            **({"body": c.body} if "/urgent_" in c.path else {}),
        }
        for c in found
    ]
    return jsonify(count=len(rows), calls=rows[-1000:])


@bp.post("/_control/reset")
def reset() -> tuple[str, int]:
    state.reset()
    return "", 204
