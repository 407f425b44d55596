"""Group chats of the bot and the contact lookup, as Lark serves them.

Sources: docs/lark/open-api.md#chats and #contact-lookup (batch_get_id).
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from flask import Response, g, request

from webapp.sandbox import decisions
from webapp.sandbox.openapi import LarkApiError, body, gateway, invalid, lark_api, ok
from webapp.sandbox.state import App, Chat, ChatState, Sandbox

bp = gateway("lark_sandbox_chats", __name__)

CHAT_UUID_TTL_S = 10 * 3600
ID_TYPES = {"open_id", "union_id", "user_id"}


@bp.get("/im/v1/chats")
@lark_api("GET /im/v1/chats")
def list_chats(app: App) -> Response:
    sandbox: Sandbox = g.lark_sandbox
    size = _page_size(request.args.get("page_size"))
    start = _offset(request.args.get("page_token"))
    with sandbox.lock:
        mine = [
            c
            for c in sandbox.chats.values()
            if app.app_id in c.bots and not c.p2p and c.status is ChatState.NORMAL
        ]
        page = [_chat_item(c) for c in mine[start : start + size]]
    has_more = start + size < len(mine)
    data: dict[str, Any] = {"items": page, "has_more": has_more, "page_token": ""}
    if has_more:
        data["page_token"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
    return ok(data)


def _page_size(raw: str | None) -> int:
    if not raw:
        return decisions.CHATS_PAGE_SIZE_DEFAULT
    if not raw.isdigit() or not 1 <= int(raw) <= decisions.CHATS_PAGE_SIZE_MAX:
        raise LarkApiError(400, 99992402, "field validation failed: page_size")
    return int(raw)


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode())
    except ValueError:
        raise LarkApiError(400, 99992402, "field validation failed: page_token") from None


def _chat_item(chat: Chat) -> dict[str, Any]:
    return {
        "chat_id": chat.chat_id,
        "avatar": "",
        "name": chat.name,
        "description": chat.description,
        "owner_id": chat.owner_id,
        "owner_id_type": "open_id",
        "external": False,
        "tenant_key": chat.tenant_key,
        "chat_status": chat.status,
    }


@bp.post("/im/v1/chats")
@lark_api("POST /im/v1/chats")
def create_chat(app: App) -> Response:
    sandbox: Sandbox = g.lark_sandbox
    id_type = request.args.get("user_id_type", "open_id")
    uuid = request.args.get("uuid", "")
    data = body()
    ids = data.get("user_id_list") or []
    if not isinstance(ids, list) or len(ids) > 50:
        raise invalid("user_id_list must be a list of at most 50 users")
    with sandbox.lock:
        held = sandbox.chat_uuids.get((app.app_id, uuid)) if uuid else None
        if held and sandbox.now() - held[1] < CHAT_UUID_TTL_S:
            return ok(_created(sandbox.chats[held[0]]))
        users = _users(sandbox, id_type, ids)
        resigned = [u for u in users if u.resigned]
        if resigned:
            raise LarkApiError(400, 232022, "The user has resigned and cannot join the chat.")
        unavailable = [u for u in users if not sandbox.visible(app, u)]
        if unavailable:
            raise LarkApiError(400, 232043, "Some users are not in the app's availability range.")
        members = [u.open_id for u in users]
        chat = Chat(
            "oc_" + secrets.token_hex(16),
            str(data.get("name") or "(无主题)"),
            app.tenant_key,
            members,
            {app.app_id},
            description=str(data.get("description") or ""),
        )
        sandbox.chats[chat.chat_id] = chat
        if uuid:
            sandbox.chat_uuids[(app.app_id, uuid)] = (chat.chat_id, sandbox.now())
    return ok(_created(chat))


def _users(sandbox: Sandbox, id_type: str, ids: list[Any]) -> list[Any]:
    if id_type not in ID_TYPES:
        raise invalid("user_id_type is invalid")
    found = (sandbox.find_user(id_type, str(i)) for i in ids)
    return [u for u in found if u is not None]


def _created(chat: Chat) -> dict[str, Any]:
    return {
        "chat_id": chat.chat_id,
        "name": chat.name,
        "description": chat.description,
        "avatar": "",
        "owner_id": "",
        "chat_mode": "group",
        "chat_type": "private",
        "external": False,
        "tenant_key": chat.tenant_key,
    }


@bp.post("/im/v1/chats/<chat_id>/members")
@lark_api("POST /im/v1/chats/:chat_id/members")
def add_members(app: App, chat_id: str) -> Response:
    sandbox: Sandbox = g.lark_sandbox
    id_type = request.args.get("member_id_type", "open_id")
    ids = body().get("id_list")
    if not isinstance(ids, list) or not ids or len(ids) > 50:
        raise invalid("id_list must hold 1 to 50 ids")
    if id_type not in ID_TYPES:
        raise invalid("member_id_type is invalid")
    succeed_type = request.args.get("succeed_type", "0")
    if succeed_type not in ("0", "1", "2"):
        raise invalid("succeed_type is 0, 1 or 2")
    with sandbox.lock:
        chat = _group(sandbox, app, chat_id)
        invalid_ids, missing, usable = [], [], []
        for raw in map(str, ids):
            user = sandbox.find_user(id_type, raw)
            if user is None:
                missing.append(raw)
            elif not sandbox.visible(app, user):
                invalid_ids.append(raw)
            else:
                usable.append(user)
        if succeed_type == "0" and (missing or invalid_ids):
            # Lark's add-members page: with the default 0 one unusable id fails the call.
            if missing:
                raise LarkApiError(400, 99992351, f"invalid ids: {', '.join(missing)}")
            if any(sandbox.find_user(id_type, i).resigned for i in invalid_ids):  # type: ignore[union-attr]
                raise LarkApiError(400, 232043, "Some users cannot be added (resigned).")
            raise LarkApiError(400, 232024, "Users are not in the app's availability range.")
        if succeed_type == "2" and missing:
            raise LarkApiError(400, 99992351, f"invalid ids: {', '.join(missing)}")
        for user in usable:
            if user.open_id not in chat.members:
                chat.members.append(user.open_id)
    return ok(
        {
            "invalid_id_list": invalid_ids,
            "not_existed_id_list": missing,
            "pending_approval_id_list": [],
        }
    )


def _group(sandbox: Sandbox, app: App, chat_id: str) -> Chat:
    chat = sandbox.chats.get(chat_id)
    if chat is None or chat.p2p:
        raise LarkApiError(400, decisions.CODE_UNKNOWN_GROUP, "invalid chat_id")
    if chat.status is not ChatState.NORMAL:
        raise LarkApiError(
            400, 232009, "Your request specifies a chat which has already been dissolved."
        )
    if app.app_id not in chat.bots:
        raise LarkApiError(400, 232011, "Operator can NOT be out of the chat.")
    return chat


@bp.post("/contact/v3/users/batch_get_id")
@lark_api("POST /contact/v3/users/batch_get_id")
def batch_get_id(app: App) -> Response:
    sandbox: Sandbox = g.lark_sandbox
    id_type = request.args.get("user_id_type", decisions.BATCH_GET_ID_DEFAULT_TYPE)
    if id_type not in ID_TYPES:
        raise invalid("user_id_type is invalid", 99992402)
    data = body()
    emails, mobiles = data.get("emails") or [], data.get("mobiles") or []
    if not isinstance(emails, list) or not isinstance(mobiles, list):
        raise LarkApiError(400, 99992402, "field validation failed: emails, mobiles")
    if len(emails) > 50 or len(mobiles) > 50:
        raise LarkApiError(
            400, 99992402, "field validation failed: at most 50 emails and 50 mobiles"
        )
    with sandbox.lock:
        entries = [_lookup(sandbox, app, "email", str(e), id_type) for e in emails]
        entries += [_lookup(sandbox, app, "mobile", str(m), id_type) for m in mobiles]
    return ok({"user_list": entries})


@bp.get("/contact/v3/users/<user_id>")
@lark_api("GET /contact/v3/users/:user_id")
def get_user(app: App, user_id: str) -> Response:
    """One person's profile. Someone outside the app's range (or unknown) answers 41050,
    "no user authority" (the code for the range; for an unknown id UNCONFIRMED)."""
    sandbox: Sandbox = g.lark_sandbox
    id_type = request.args.get("user_id_type", "open_id")
    if id_type not in ID_TYPES:
        raise invalid("user_id_type is invalid", 99992402)
    with sandbox.lock:
        user = sandbox.find_user(id_type, user_id)
        if user is None or not sandbox.visible(app, user):
            raise LarkApiError(400, 41050, "no user authority error")
        profile = {
            "open_id": user.open_id,
            "union_id": user.union_id,
            "name": user.name,
            "en_name": user.en_name,
        }
    return ok({"user": profile})


def _lookup(sandbox: Sandbox, app: App, field: str, value: str, id_type: str) -> dict[str, Any]:
    """Unknown, or outside the app's range: the entry comes back without user_id."""
    entry: dict[str, Any] = {field: value}
    user = sandbox.find_user(field, value)
    if user is None and field == "mobile" and not value.startswith("+"):
        user = sandbox.find_user(field, "+86" + value)  # mainland numbers need no prefix
    if user is not None and sandbox.visible(app, user):
        entry["user_id"] = getattr(user, id_type)
        entry["status"] = {
            "is_frozen": False,
            "is_resigned": user.resigned,
            "is_activated": True,
            "is_exited": False,
            "is_unjoin": False,
        }
    return entry
