"""Lark's urgent (加急) endpoints: PATCH /im/v1/messages/:message_id/urgent_app, urgent_sms,
urgent_phone, with Lark's rules, stricter never looser (docs/lark/urgent.md).

Refusals, each with Lark's code: a missing scope (99991672), a message the bot did not
send (230012), a batch message, the bot outside the chat (230002), a group that lets only
its owner and admins buzz while the bot is neither (230052), 200 unread buzzes (230023), the
tenant's SMS / phone quota used up (230024). People outside the chat come back in
invalid_user_id_list; when nobody could be buzzed the answer is 230001.
"""

from __future__ import annotations

from flask import Response, g, request

from webapp.sandbox import decisions, limits
from webapp.sandbox.openapi import LarkApiError, body, gateway, invalid, lark_api, ok
from webapp.sandbox.state import App, Buzz, BuzzVia, Chat, Message, Sandbox

SCOPES = {
    "app": ("im:message.urgent", "im:message.urgent:app_send"),
    "sms": ("im:message.urgent:sms", "im:message.urgent:sms_send"),
    "phone": ("im:message.urgent:phone", "im:message.urgent:phone_send"),
}
USER_ID_TYPES = ("open_id", "user_id", "union_id")

bp = gateway("lark_sandbox_urgent", __name__)


@bp.patch("/im/v1/messages/<message_id>/urgent_app")
@lark_api("PATCH /im/v1/messages/:message_id/urgent_app")
def urgent_app(app: App, message_id: str) -> Response:
    return _urgent(app, message_id, "app")


@bp.patch("/im/v1/messages/<message_id>/urgent_sms")
@lark_api("PATCH /im/v1/messages/:message_id/urgent_sms")
def urgent_sms(app: App, message_id: str) -> Response:
    return _urgent(app, message_id, "sms")


@bp.patch("/im/v1/messages/<message_id>/urgent_phone")
@lark_api("PATCH /im/v1/messages/:message_id/urgent_phone")
def urgent_phone(app: App, message_id: str) -> Response:
    return _urgent(app, message_id, "phone")


def _urgent(app: App, message_id: str, via: str) -> Response:
    sandbox: Sandbox = g.lark_sandbox
    id_type = request.args.get("user_id_type", "")
    if id_type not in USER_ID_TYPES:
        raise invalid("user_id_type is required: open_id, user_id or union_id")
    ids = _ids()
    if not set(SCOPES[via]) & app.scopes:
        raise LarkApiError(
            400,
            decisions.CODE_MISSING_SCOPE,
            f"Access denied. One of the following scopes is required: [{', '.join(SCOPES[via])}]",
        )
    with sandbox.lock:
        message, chat = _buzzable(sandbox, app, message_id)
        people, unknown = _people(sandbox, chat, id_type, ids)
        if not people:
            raise invalid("no user in user_id_list can be buzzed on this message")
        _check_unread(sandbox, people)
        if via != "app":
            _take_quota(sandbox, app, len(people))
        now = sandbox.now()
        sandbox.buzzes.extend(Buzz(message.message_id, p, BuzzVia(via), now) for p in people)
    return ok({"invalid_user_id_list": unknown})


def _ids() -> list[str]:
    ids = body().get("user_id_list")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
        raise invalid("user_id_list must be a non-empty list of ids")
    if len(ids) > decisions.MAX_BUZZ_IDS:
        raise invalid(f"user_id_list holds at most {decisions.MAX_BUZZ_IDS} ids")
    return [str(i) for i in ids]


def _buzzable(sandbox: Sandbox, app: App, message_id: str) -> tuple[Message, Chat]:
    if message_id.startswith("bm_"):
        raise invalid("batch messages (bm_) cannot be buzzed")
    message = sandbox.messages.get(message_id)
    if message is None or message.app_id != app.app_id:
        raise LarkApiError(
            400, decisions.CODE_NOT_OWN_MESSAGE, "Only messages sent by the bot can be buzzed."
        )
    chat = sandbox.chats[message.chat_id]
    if app.app_id not in chat.bots or chat.status != "normal":
        raise LarkApiError(400, 230002, "The bot can not be outside the group.")
    if not chat.p2p and chat.urgent_setting != "all_members" and app.app_id not in chat.admins:
        raise LarkApiError(400, 230052, "Only the group owner and admins may buzz in this group.")
    return message, chat


def _people(
    sandbox: Sandbox, chat: Chat, id_type: str, ids: list[str]
) -> tuple[list[str], list[str]]:
    """(open_ids to buzz, the ids as given that name nobody in the chat)."""
    found: list[str] = []
    unknown: list[str] = []
    for value in ids:
        user = sandbox.find_user(id_type, value)
        if user is None or user.open_id not in chat.members or user.resigned:
            unknown.append(value)
        elif user.open_id not in found:
            found.append(user.open_id)
    return found, unknown


def _check_unread(sandbox: Sandbox, people: list[str]) -> None:
    for open_id in people:
        unread = sum(1 for b in sandbox.buzzes if b.open_id == open_id and not b.read)
        if unread >= decisions.MAX_UNREAD_BUZZES:
            raise LarkApiError(
                400, 230023, "The user's unread urgent messages reach the upper limit."
            )


def _take_quota(sandbox: Sandbox, app: App, count: int) -> None:
    tenant = sandbox.tenants[app.tenant_key]
    month = limits.month_of(sandbox.now())
    used = tenant.buzz_used.get(month, 0)
    if used + count > tenant.buzz_quota:
        raise LarkApiError(400, 230024, "Reach the upper limit of urgent message.")
    tenant.buzz_used[month] = used + count


def ringing(sandbox: Sandbox, open_id: str, message_ids: set[str]) -> dict[str, str]:
    """message_id -> the newest unread buzz's kind, for one person's view (lock held)."""
    return {
        b.message_id: b.via
        for b in sandbox.buzzes
        if b.open_id == open_id and not b.read and b.message_id in message_ids
    }


def open_chat(sandbox: Sandbox, open_id: str, message_ids: set[str]) -> None:
    """The person opened the chat: its buzzes stop ringing (lock held)."""
    for b in sandbox.buzzes:
        if b.open_id == open_id and b.message_id in message_ids:
            b.read = True
