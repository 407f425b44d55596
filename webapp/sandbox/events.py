"""The events Lark's servers send to an app's event request URL (schema 2.0).

When the bot is added to or removed from a group, a group is dissolved, or someone writes
to the bot, Lark POSTs the event, encrypted with the Encrypt Key when the app has one and
signed like the new card channel (SHA-256 over timestamp + nonce + Encrypt Key + body).
Payload shapes follow lark-oapi's models (api/im/v1/model/p2_im_chat_member_bot_added_v1.py,
p2_im_chat_member_bot_deleted_v1.py, p2_im_chat_disbanded_v1.py, p2_im_message_receive_v1.py)
and Lark's event pages; what they leave open is in decisions.py.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

import requests

from webapp.sandbox import crypto, decisions
from webapp.sandbox.callbacks import seal
from webapp.sandbox.state import App, Chat, Message, Sandbox, User


@dataclass
class Sent:
    """One event as sent (and as it would be sent again: same event_id)."""

    app_id: str
    event_type: str
    event_id: str
    payload: dict[str, Any]
    body: bytes
    headers: dict[str, str]
    status: int | None = None
    answer: str = ""
    error: str = ""
    tries: int = 1  # 1 for the first push, 2 for Lark's first retry...

    @property
    def received(self) -> bool:
        return self.status == 200


def _user_id(user: User) -> dict[str, str]:
    return {"union_id": user.union_id, "user_id": user.user_id, "open_id": user.open_id}


def _chat_event(chat: Chat, operator: User) -> dict[str, Any]:
    return {
        "chat_id": chat.chat_id,
        "operator_id": _user_id(operator),
        "external": False,
        "operator_tenant_key": operator.tenant_key,
        "name": chat.name,
        "i18n_names": {"zh_cn": chat.name, "en_us": chat.name, "ja_jp": ""},
    }


def bot_added(sandbox: Sandbox, app: App, chat: Chat, operator: User) -> Sent | None:
    return send(sandbox, app, "im.chat.member.bot.added_v1", _chat_event(chat, operator))


def bot_deleted(sandbox: Sandbox, app: App, chat: Chat, operator: User) -> Sent | None:
    return send(sandbox, app, "im.chat.member.bot.deleted_v1", _chat_event(chat, operator))


def disbanded(sandbox: Sandbox, chat: Chat, operator: User) -> list[Sent]:
    """Every bot of the chat hears that it was dissolved."""
    apps = [sandbox.apps[a] for a in sorted(chat.bots) if a in sandbox.apps]
    sent = [send(sandbox, app, "im.chat.disbanded_v1", _chat_event(chat, operator)) for app in apps]
    return [s for s in sent if s is not None]


def message_received(
    sandbox: Sandbox, app: App, chat: Chat, message: Message, sender: User, mentions: list[App]
) -> Sent | None:
    """im.message.receive_v1, for the app's bot: sent when the message @mentions it in a group,
    or in the bot's direct chat (decisions.MESSAGE_EVENT_ONLY_WHEN_MENTIONED)."""
    if not chat.p2p and app not in mentions and decisions.MESSAGE_EVENT_ONLY_WHEN_MENTIONED:
        return None
    needed = decisions.P2P_MESSAGE_SCOPES if chat.p2p else decisions.GROUP_MESSAGE_SCOPES
    if not app.scopes & needed:
        return None  # the app lacks the event's permission: Lark sends it nothing
    event = {
        "sender": {
            "sender_id": _user_id(sender),
            "sender_type": "user",
            "tenant_key": sender.tenant_key,
        },
        "message": {
            "message_id": message.message_id,
            "root_id": "",
            "parent_id": "",
            "create_time": str(int(message.created_at * 1000)),
            "update_time": str(int(message.created_at * 1000)),
            "chat_id": chat.chat_id,
            "thread_id": "",
            "chat_type": "p2p" if chat.p2p else "group",
            "message_type": message.msg_type,
            "content": message.content,
            "mentions": [_mention(i, bot, sender) for i, bot in enumerate(mentions, start=1)],
            "user_agent": "",
        },
    }
    return send(sandbox, app, "im.message.receive_v1", event)


def _mention(index: int, bot: App, sender: User) -> dict[str, Any]:
    mention = {
        "key": f"@_user_{index}",
        "id": {"union_id": "", "user_id": "", "open_id": bot.bot_open_id},
        "name": bot.name,
        "tenant_key": sender.tenant_key,
    }
    if decisions.MENTIONED_TYPE_SENT:
        mention["mentioned_type"] = "bot"
    return mention


def send(sandbox: Sandbox, app: App, event_type: str, event: dict[str, Any]) -> Sent | None:
    """POST one event if the app subscribed it at an event request URL; None otherwise."""
    with sandbox.lock:
        if not app.event_request_url or event_type not in app.events:
            return None
        payload = {
            "schema": "2.0",
            "header": {
                "event_id": uuid.uuid4().hex,
                "token": app.verification_token,
                "create_time": str(int(sandbox.now() * 1000)),
                "event_type": event_type,
                "tenant_key": app.tenant_key,
                "app_id": app.app_id,
            },
            "event": event,
        }
    return deliver(sandbox, app, payload)


def deliver(sandbox: Sandbox, app: App, payload: dict[str, Any]) -> Sent:
    """Sign, encrypt and POST; Lark re-sends the same event (same event_id) on failure."""
    body = seal(app, payload)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Lark-Request-Timestamp": str(int(time.time())),
        "X-Lark-Request-Nonce": str(secrets.randbelow(10**10)),
    }
    if app.encrypt_key or decisions.SIGN_WITHOUT_ENCRYPT_KEY:
        headers["X-Lark-Signature"] = crypto.sha256_signature(
            headers["X-Lark-Request-Timestamp"],
            headers["X-Lark-Request-Nonce"],
            app.encrypt_key,
            body,
        )
    header = payload["header"]
    sent = Sent(app.app_id, header["event_type"], header["event_id"], payload, body, headers)
    return _push(sandbox, app, sent)


def _push(sandbox: Sandbox, app: App, sent: Sent) -> Sent:
    """POST the push; one that got no 200 is queued for Lark's next retry."""
    try:
        response = requests.post(
            app.event_request_url,
            data=sent.body,
            headers=sent.headers,
            timeout=decisions.EVENT_TIMEOUT_S,
            allow_redirects=False,
        )
        sent.status, sent.answer = response.status_code, response.text[:500]
    except requests.RequestException as error:
        sent.error = type(error).__name__
    with sandbox.lock:
        sandbox.events_sent.append(sent)
        if not sent.received and sent.tries <= len(decisions.EVENT_RETRY_AFTER_S):
            due = sandbox.now() + decisions.EVENT_RETRY_AFTER_S[sent.tries - 1]
            sandbox.event_retries.append((due, sent))
    return sent


def _again(sandbox: Sandbox, sent: Sent) -> Sent:
    """The same push once more: the same bytes and headers (so the first timestamp)."""
    app = sandbox.apps[sent.app_id]
    copy = replace(sent, status=None, answer="", error="", tries=sent.tries + 1)
    return _push(sandbox, app, copy)


def retry_due(sandbox: Sandbox) -> list[Sent]:
    """Lark's automatic retries whose time has come, pushed now."""
    with sandbox.lock:
        now = sandbox.now()
        due = [s for at, s in sandbox.event_retries if at <= now]
        sandbox.event_retries = [(at, s) for at, s in sandbox.event_retries if at > now]
    return [_again(sandbox, s) for s in due]


def push_again(sandbox: Sandbox, sent: Sent) -> Sent:
    """Lark's duplicate push: the same event under a new event_id. The receive_v1 page warns
    of it ("特殊情况下可能会收到重复的推送") and says to de-duplicate on message_id."""
    payload = {**sent.payload, "header": {**sent.payload["header"], "event_id": uuid.uuid4().hex}}
    return deliver(sandbox, sandbox.apps[sent.app_id], payload)


def redeliver(sandbox: Sandbox, sent: Sent) -> Sent:
    """Lark's retry of an event, now: the same payload, bytes and headers as `sent`."""
    with sandbox.lock:
        sandbox.event_retries = [(at, s) for at, s in sandbox.event_retries if s is not sent]
    return _again(sandbox, sent)


def text_content(text: str, mentions: list[App]) -> str:
    """A text message's content as Lark stores it: mentions become @_user_N placeholders."""
    keys = " ".join(f"@_user_{i}" for i in range(1, len(mentions) + 1))
    return json.dumps({"text": f"{keys} {text}".strip()}, ensure_ascii=False)
