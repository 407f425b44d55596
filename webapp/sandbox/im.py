"""im/v1 messages and the delayed card update, as Lark serves them.

Sources: docs/lark/open-api.md#send and #card-update, docs/lark/callbacks.md#answering (the
delayed update, interactive/v1).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from flask import Response, g, request

from webapp.sandbox import card_rules, cards, decisions
from webapp.sandbox.openapi import (
    LarkApiError,
    body,
    check_receiver_rate,
    gateway,
    invalid,
    lark_api,
    ok,
    reply,
)
from webapp.sandbox.state import App, Chat, ChatState, Message, Sandbox

bp = gateway("lark_sandbox_im", __name__)

RECEIVE_ID_TYPES = {"open_id", "union_id", "user_id", "email", "chat_id"}
MSG_TYPES = {"text", "post", "image", "file", "audio", "media", "sticker", "interactive"}
MAX_BODY = 30 * 1024
UUID_TTL_S = 3600
UPDATE_WINDOW_S = decisions.CARD_UPDATE_DAYS * 86400
CARD_TOKEN_TTL_S = 1800


@bp.post("/im/v1/messages")
@lark_api("POST /im/v1/messages")
def send_message(app: App) -> Response:
    sandbox: Sandbox = g.lark_sandbox
    id_type = request.args.get("receive_id_type", "")
    if id_type not in RECEIVE_ID_TYPES:
        raise invalid("receive_id_type is required: open_id, union_id, user_id, email or chat_id")
    data = body()
    receive_id, msg_type, content = _fields(data)
    uuid = str(data.get("uuid") or "")
    if len(uuid) > 50:
        raise invalid("uuid is longer than 50 characters")
    with sandbox.lock:
        repeated = _repeated(sandbox, app, uuid)
        if repeated is not None:
            return ok(message_data(repeated, app))
        chat = _target(sandbox, app, id_type, receive_id)
        check_receiver_rate(sandbox, f"receiver:{chat.chat_id}")
        message = _store(sandbox, app, chat, msg_type, content, uuid)
    return ok(message_data(message, app))


def _fields(data: dict[str, Any]) -> tuple[str, str, str]:
    receive_id, msg_type, content = (
        data.get("receive_id"),
        data.get("msg_type"),
        data.get("content"),
    )
    if not isinstance(receive_id, str) or not receive_id:
        raise invalid("receive_id is required")
    if msg_type not in MSG_TYPES:
        raise invalid("msg_type is invalid")
    if not isinstance(content, str) or not content:
        raise invalid("content must be a JSON string")
    if len(json.dumps(data, ensure_ascii=False).encode()) > MAX_BODY:
        raise LarkApiError(400, 230025, "The length of the message content reaches its limit.")
    if msg_type == "interactive":
        check_card(content)
    return receive_id, str(msg_type), content


def check_card(content: str) -> dict[str, Any]:
    try:
        card = json.loads(content)
    except ValueError:
        card = None
    if not isinstance(card, dict):
        raise _card_error(
            "200621", "parse card json err, please check whether the card json is correct"
        )
    if cards.count_elements(card) > 200:
        raise _card_error("11310", "element exceeds the limit")
    try:
        card_rules.check(card)
    except card_rules.CardRefused as refused:
        raise LarkApiError(
            400, decisions.CODE_CARD_REFUSED, f"Failed to create card content, ext={refused}"
        ) from refused
    return card


def _card_error(sub: str, text: str) -> LarkApiError:
    msg = f"Failed to create card content, ext=ErrCode: {sub}; ErrMsg: {text}"
    return LarkApiError(400, 230099, msg)


def _repeated(sandbox: Sandbox, app: App, uuid: str) -> Message | None:
    if not uuid:
        return None
    held = sandbox.uuids.get((app.app_id, uuid))
    if held is None or sandbox.now() - held[1] >= UUID_TTL_S:
        return None
    return sandbox.messages.get(held[0])


def _target(sandbox: Sandbox, app: App, id_type: str, receive_id: str) -> Chat:
    if id_type == "chat_id":
        chat = sandbox.chats.get(receive_id)
        if chat is None:
            raise invalid("chat_id not exist", decisions.CODE_UNKNOWN_CHAT)
        if chat.status is not ChatState.NORMAL:
            raise LarkApiError(
                400, 232009, "Your request specifies a chat which has already been dissolved."
            )
        if app.app_id not in chat.bots:
            raise LarkApiError(400, 230002, "The bot can not be outside the group.")
        return chat
    user = sandbox.find_user(id_type, receive_id)
    if user is None:
        raise LarkApiError(400, decisions.CODE_UNKNOWN_RECEIVER, "The receive_id is invalid.")
    if not sandbox.visible(app, user):
        raise LarkApiError(400, 230013, "Bot has NO availability to this user.")
    return sandbox.p2p_chat(app, user)


def _store(
    sandbox: Sandbox, app: App, chat: Chat, msg_type: str, content: str, uuid: str
) -> Message:
    now = sandbox.now()
    message = Message(
        "om_" + secrets.token_hex(16), app.app_id, chat.chat_id, msg_type, content, now, now, uuid
    )
    sandbox.messages[message.message_id] = message
    if uuid:
        sandbox.uuids[(app.app_id, uuid)] = (message.message_id, now)
    return message


def message_data(message: Message, app: App) -> dict[str, Any]:
    return {
        "message_id": message.message_id,
        "root_id": "",
        "parent_id": "",
        "msg_type": message.msg_type,
        "create_time": str(int(message.created_at * 1000)),
        "update_time": str(int(message.updated_at * 1000)),
        "deleted": False,
        "updated": False,
        "chat_id": message.chat_id,
        "sender": {
            "id": message.app_id,
            "id_type": "app_id",
            "sender_type": "app",
            "tenant_key": app.tenant_key,
        },
        "body": {"content": message.content},
        "mentions": [],
    }


@bp.patch("/im/v1/messages/<message_id>")
@lark_api("PATCH /im/v1/messages/:message_id")
def update_message(app: App, message_id: str) -> Response:
    sandbox: Sandbox = g.lark_sandbox
    content = body().get("content")
    if not isinstance(content, str) or not content:
        raise invalid("content must be a JSON string")
    new_card = check_card(content)
    with sandbox.lock:
        message = _own_card(sandbox, app, message_id)
        check_receiver_rate(sandbox, f"message:{message_id}")
        if not cards.is_shared(json.loads(message.content)) or not cards.is_shared(new_card):
            raise invalid(
                "the card is not shared: declare config.update_multi=true before and after",
                decisions.PATCH_REQUIRES_UPDATE_MULTI_CODE,
            )
        replace_content(sandbox, message, content)
    return reply({"code": 0, "msg": "ok", "data": {}})


def _own_card(sandbox: Sandbox, app: App, message_id: str) -> Message:
    message = sandbox.messages.get(message_id)
    if message is None:
        raise invalid("message not found")
    if message.app_id != app.app_id:
        raise LarkApiError(400, 230027, "Lack of necessary permissions.")
    if message.msg_type != "interactive":
        raise invalid("only interactive messages (cards) can be updated")
    if sandbox.now() - message.created_at > UPDATE_WINDOW_S:
        raise LarkApiError(
            400, 230031, "Message can only be modified within 14 days after sending."
        )
    return message


def replace_content(sandbox: Sandbox, message: Message, content: str) -> None:
    """Callers hold the lock. Every viewer of a shared card sees the new content."""
    message.history.append(message.content)
    message.content = content
    message.updated_at = sandbox.now()


@bp.post("/interactive/v1/card/update")
@lark_api("POST /interactive/v1/card/update")
def delayed_update(app: App) -> Response:
    sandbox: Sandbox = g.lark_sandbox
    data = body()
    card = data.get("card")
    if not isinstance(card, dict):
        raise LarkApiError(400, 10002, "card param error: card must be an object")
    try:
        card_rules.check(card)
    except card_rules.CardRefused as refused:
        raise LarkApiError(
            400, decisions.CODE_DELAYED_CARD_REFUSED, f"card param error: {refused}"
        ) from refused
    with sandbox.lock:
        grant = sandbox.card_tokens.get(str(data.get("token", "")))
        if grant is None:
            raise LarkApiError(400, 300020, "token format error")
        if grant.app_id != app.app_id:
            raise LarkApiError(400, 200310, "the card was sent by another app")
        if sandbox.now() - grant.created_at > CARD_TOKEN_TTL_S:
            raise LarkApiError(400, 300030, "token expired")
        if grant.uses >= 2:
            raise LarkApiError(400, 300040, "token used more than 2 times")
        grant.uses += 1
        message = sandbox.messages[grant.message_id]
        replace_content(sandbox, message, json.dumps(card, ensure_ascii=False))
    return reply({"code": 0, "msg": "ok"})
