"""What Lark's servers do when someone presses a card button, or a developer saves a URL.

The sandbox POSTs to the product over real HTTP (`requests`: it stands in for Lark's
servers, outside the product's one Lark client seam), signs and encrypts as Lark does,
waits at most 3 s (1 s for url_verification) and judges the answer the way the Lark client
does, with Lark's client-side error codes. Source: docs/lark/callbacks.md.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.sandbox import card_rules, crypto, decisions
from webapp.sandbox.cards import Interactive, version
from webapp.sandbox.im import replace_content
from webapp.sandbox.state import App, CardCallback, CardToken, Message, Sandbox, User

# What the Lark client shows (client 7.28+), shown by the sandbox client in the user's language.
CLIENT_ERRORS = {
    200340: _l("No card request URL is configured for this app, or it is invalid."),
    200341: _l("The card request URL did not answer within 3 seconds."),
    200342: _l("Could not connect to the card request URL."),
    200080: _l("Calling the card request URL failed."),
    200671: _l("The card request URL answered with a status other than 200."),
    200672: _l("The card request URL answered with a body of the wrong format."),
    200673: _l("The card in the answer is invalid."),
    200830: _l("A JSON 2.0 card cannot be turned into a JSON 1.0 card."),
}
CARD_KEYS = {"config", "header", "elements", "i18n_elements", "card_link", "schema", "body"}


@dataclass
class Attempt:
    channel: CardCallback
    status: int | None
    body: str
    headers: dict[str, str]
    sent: bytes
    error_code: int | None = None


@dataclass
class ClickResult:
    ok: bool
    error_code: int | None = None
    error: str = ""
    toast: dict[str, Any] | None = None
    card: dict[str, Any] | None = None  # the replacement that was applied
    attempts: list[Attempt] = field(default_factory=list)


class ClickRefused(Exception):
    """The click cannot be made (unknown message, person not in the chat...)."""


@dataclass
class _Prepared:
    app: App
    user: User
    message: Message
    action: dict[str, Any]
    card_token: str
    refresh_token: str


def click(
    sandbox: Sandbox,
    message_id: str,
    open_id: str,
    item: Interactive | None = None,
    value: Any = None,
    option: str | None = None,
) -> ClickResult:
    prepared = _prepare(sandbox, message_id, open_id, item, value, option)
    if isinstance(prepared, ClickResult):
        return prepared
    result = ClickResult(ok=False)
    for channel in _channels(prepared.app):
        attempt, outcome = _post_click(channel, prepared)
        result.attempts.append(attempt)
        if outcome.ok:
            outcome.attempts = result.attempts
            result = outcome
            break
        result.error_code, result.error = outcome.error_code, outcome.error
    _apply(sandbox, prepared, result)
    return result


def _channels(app: App) -> list[CardCallback]:
    return [c for c in CardCallback if c in app.callbacks]


def _prepare(
    sandbox: Sandbox,
    message_id: str,
    open_id: str,
    item: Interactive | None,
    value: Any,
    option: str | None,
) -> _Prepared | ClickResult:
    with sandbox.lock:
        message = sandbox.messages.get(message_id)
        user = sandbox.users.get(open_id)
        if message is None or user is None:
            raise ClickRefused("unknown message or person")
        if open_id not in sandbox.chats[message.chat_id].members:
            raise ClickRefused("this person cannot see that message")
        app = sandbox.apps[message.app_id]
        if sandbox.now() - message.created_at > _interaction_days(message) * 86400:
            return ClickResult(False, None, _expired_text(_interaction_days(message)))
        if not app.card_request_url or not _channels(app):
            return _client_error(200340)
        action = _action(item, value, option)
        card_token = "c-" + secrets.token_hex(20)
        sandbox.card_tokens[card_token] = CardToken(
            card_token, message_id, app.app_id, sandbox.now()
        )
        refresh = sandbox.refresh_tokens.setdefault((message_id, open_id), secrets.token_hex(16))
        return _Prepared(app, user, message, action, card_token, refresh)


def _interaction_days(message: Message) -> int:
    """2.0 cards take clicks for 14 days, 1.0 cards for 30 (JSON 2.0 release notes)."""
    try:
        card = json.loads(message.content)
    except ValueError:
        card = {}
    is_v2 = isinstance(card, dict) and version(card) == "2.0"
    return decisions.CARD_V2_INTERACTION_DAYS if is_v2 else decisions.CARD_INTERACTION_DAYS


def _expired_text(days: int) -> str:
    return _("This card was sent over %(days)s days ago: it no longer accepts clicks.", days=days)


def _action(item: Interactive | None, value: Any, option: str | None) -> dict[str, Any]:
    action: dict[str, Any] = {"value": value, "tag": "button"}
    if item is not None:
        action = {"value": item.value, "tag": item.tag}
        if item.name:
            action["name"] = item.name
    if option is not None:
        action["option"] = option
    return action


def _post_click(channel: CardCallback, p: _Prepared) -> tuple[Attempt, ClickResult]:
    if channel is CardCallback.NEW:
        sent, headers = _new_request(p)
    else:
        sent, headers = _old_request(p)
    attempt = Attempt(channel, None, "", headers, sent)
    try:
        response = requests.post(
            p.app.card_request_url,
            data=sent,
            headers=headers,
            timeout=decisions.CALLBACK_TIMEOUT_S,
            allow_redirects=False,
        )
    except requests.Timeout:
        return attempt, _failed(attempt, 200341)
    except requests.ConnectionError:
        return attempt, _failed(attempt, 200342)
    except requests.RequestException:
        return attempt, _failed(attempt, 200080)
    attempt.status, attempt.body = response.status_code, response.text
    if response.status_code != 200:
        return attempt, _failed(attempt, 200671)
    return attempt, _judge(channel, response.text, p)


def _client_error(code: int) -> ClickResult:
    return ClickResult(False, code, str(CLIENT_ERRORS[code]))


def _failed(attempt: Attempt, code: int) -> ClickResult:
    attempt.error_code = code
    return _client_error(code)


def _new_request(p: _Prepared) -> tuple[bytes, dict[str, str]]:
    payload = {
        "schema": "2.0",
        "header": {
            "event_id": uuid.uuid4().hex,
            "token": p.app.verification_token,
            "create_time": str(int(time.time() * 1_000_000)),
            "event_type": CardCallback.NEW.value,
            "tenant_key": p.app.tenant_key,
            "app_id": p.app.app_id,
        },
        "event": {
            "operator": _operator(p.user),
            "token": p.card_token,
            "action": p.action,
            "host": "im_message",
            "context": {
                "open_message_id": p.message.message_id,
                "open_chat_id": p.message.chat_id,
            },
        },
    }
    body = seal(p.app, payload)
    headers = _stamp()
    if p.app.encrypt_key or decisions.SIGN_WITHOUT_ENCRYPT_KEY:
        headers["X-Lark-Signature"] = crypto.sha256_signature(
            headers["X-Lark-Request-Timestamp"],
            headers["X-Lark-Request-Nonce"],
            p.app.encrypt_key,
            body,
        )
    return body, headers


def _operator(user: User) -> dict[str, str]:
    return {
        "tenant_key": user.tenant_key,
        "user_id": user.user_id,
        "open_id": user.open_id,
        "union_id": user.union_id,
    }


def _old_request(p: _Prepared) -> tuple[bytes, dict[str, str]]:
    payload: dict[str, Any] = {
        "open_id": p.user.open_id,
        "user_id": p.user.user_id,
        "open_message_id": p.message.message_id,
        "tenant_key": p.app.tenant_key,
        "token": p.card_token,
        "action": p.action,
    }
    if decisions.V1_INCLUDES_OPEN_CHAT_ID:
        payload["open_chat_id"] = p.message.chat_id
    body = _compact(payload)
    headers = _stamp()
    headers["X-Lark-Signature"] = crypto.sha1_signature(
        headers["X-Lark-Request-Timestamp"],
        headers["X-Lark-Request-Nonce"],
        p.app.verification_token,
        body,
    )
    headers["X-Refresh-Token"] = p.refresh_token
    return body, headers


def _compact(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def seal(app: App, payload: dict[str, Any]) -> bytes:
    """The body Lark sends on the new channel: encrypted when the app has an Encrypt Key."""
    plain = _compact(payload)
    if not app.encrypt_key:
        return plain
    return _compact({"encrypt": crypto.encrypt(app.encrypt_key, plain.decode("utf-8"))})


def _stamp() -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=utf-8",
        "X-Lark-Request-Timestamp": str(int(time.time())),
        "X-Lark-Request-Nonce": str(secrets.randbelow(10**10)),
    }


def _judge(channel: CardCallback, text: str, p: _Prepared) -> ClickResult:
    """Read the answer as the client does: toast and card, or 200672/200673/200830."""
    try:
        answer = json.loads(text) if text.strip() else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        return _client_error(200672)
    toast = answer.get("toast")
    if toast is not None and not (
        isinstance(toast, dict) and isinstance(toast.get("content", ""), str)
    ):
        return _client_error(200672)
    card = _new_card(answer) if channel is CardCallback.NEW else _old_card(answer)
    if isinstance(card, int):
        return _client_error(card)
    if card is not None and _downgrade(p.message, card):
        return _client_error(200830)
    if card is not None:
        try:
            card_rules.check(card)
        except card_rules.CardRefused:
            return _client_error(decisions.CODE_ANSWER_CARD_REFUSED)
    return ClickResult(True, toast=_localised(toast, p.user), card=card)


def _new_card(answer: dict[str, Any]) -> dict[str, Any] | int | None:
    if CARD_KEYS & set(answer) - {"card"}:
        return 200672  # an old-shape answer on the new channel
    card = answer.get("card")
    if card is None:
        return None
    if not isinstance(card, dict) or card.get("type") not in ("raw", "template"):
        return 200673
    data = card.get("data")
    if not isinstance(data, dict):
        return 200673
    if card["type"] == "template":
        return {"type": "template", "data": data}
    return data if _looks_like_card(data) else 200673


def _old_card(answer: dict[str, Any]) -> dict[str, Any] | int | None:
    if isinstance(answer.get("card"), dict) and answer["card"].get("type") in ("raw", "template"):
        return 200672  # a new-shape answer on the old channel
    if answer.get("type") == "template":
        return {"type": "template", "data": answer.get("data") or {}}
    card = {k: v for k, v in answer.items() if k != "toast"}
    if not CARD_KEYS & set(card):
        return None  # {} or {"msg": "success"}: the card stays as it is
    return card if _looks_like_card(card) else 200673


def _looks_like_card(card: dict[str, Any]) -> bool:
    if version(card) == "2.0":
        return isinstance((card.get("body") or {}).get("elements", []), list)
    return isinstance(card.get("elements", []), list) and isinstance(card.get("header", {}), dict)


def _downgrade(message: Message, card: dict[str, Any]) -> bool:
    try:
        current = json.loads(message.content)
    except ValueError:
        return False
    is_template = card.get("type") == "template"
    return (
        isinstance(current, dict)
        and version(current) == "2.0"
        and not is_template
        and version(card) == "1.0"
    )


def _localised(toast: Any, user: User) -> dict[str, Any] | None:
    if not isinstance(toast, dict):
        return None
    i18n = toast.get("i18n") or {}
    locale = user.locale.lower()
    content = i18n.get(locale) if isinstance(i18n, dict) else None
    return {
        "type": str(toast.get("type") or "info"),
        "content": str(content or toast.get("content", "")),
    }


def _apply(sandbox: Sandbox, p: _Prepared, result: ClickResult) -> None:
    with sandbox.lock:
        message = p.message
        message.toasts[p.user.open_id] = result.toast
        message.errors[p.user.open_id] = (
            "" if result.ok else f"{result.error} ({result.error_code})"
        )
        if result.ok:
            sandbox.refresh_tokens[(message.message_id, p.user.open_id)] = secrets.token_hex(16)
        if result.ok and result.card is not None:
            replace_content(sandbox, message, json.dumps(result.card, ensure_ascii=False))
