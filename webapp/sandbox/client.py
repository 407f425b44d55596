"""The simulated Lark client at /_lark/: pick a person, read chats and cards, press buttons,
open the workbench app.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import escape
from werkzeug.wrappers import Response as BaseResponse

from webapp.sandbox import callbacks, cards, lark_session, state, urgent
from webapp.sandbox.callbacks import ClickResult
from webapp.sandbox.state import Chat, Message, Sandbox, User

bp = Blueprint("lark_sandbox_client", __name__, url_prefix="/_lark")


def _page(template: str, sandbox: Sandbox, **context: Any) -> str:
    return render_template(template, lark_user=lark_session.current_user(sandbox), **context)


def _user_or_redirect(sandbox: Sandbox) -> User | BaseResponse:
    user = lark_session.current_user(sandbox)
    return user if user is not None else redirect(url_for(".home"), 303)


@bp.get("/")
def home() -> BaseResponse | str:
    sandbox = state.get()
    if lark_session.current_user(sandbox) is not None:
        return redirect(url_for(".messenger"), 303)
    with sandbox.lock:
        people = list(sandbox.users.values())  # seed order: Li Lei first
        tenants = sorted(sandbox.tenants.values(), key=lambda t: t.key != people[0].tenant_key)
        outside = {
            u.open_id
            for app in sandbox.apps.values()
            for u in people
            if not sandbox.visible(app, u) and u.tenant_key == app.tenant_key
        }
    return _page("sandbox/pick_user.html", sandbox, people=people, tenants=tenants, outside=outside)


@bp.post("/sign-in")
def sign_in() -> BaseResponse:
    sandbox = state.get()
    open_id = request.form.get("open_id", "")
    with sandbox.lock:
        if open_id not in sandbox.users:
            abort(404)
    response = redirect(url_for(".messenger"), 303)
    lark_session.sign_in(response, open_id)
    return response


@bp.post("/sign-out")
def sign_out() -> BaseResponse:
    response = redirect(url_for(".home"), 303)
    lark_session.sign_out(response)
    return response


@dataclass
class ChatEntry:
    chat: Chat
    title: str
    last: str
    ringing: bool = False


@dataclass
class MessageItem:
    message: Message
    app_name: str
    sent: str
    sent_iso: str
    view: cards.CardView | None
    text: str
    toast: dict[str, Any] | None = None
    error: str = ""
    ringing: str = ""  # an unread buzz on this message: app, sms or phone


@bp.get("/messenger")
def messenger() -> BaseResponse | str:
    return _messenger(None)


@bp.get("/messenger/<chat_id>")
def chat(chat_id: str) -> BaseResponse | str:
    return _messenger(chat_id)


def _messenger(chat_id: str | None) -> BaseResponse | str:
    sandbox = state.get()
    user = _user_or_redirect(sandbox)
    if not isinstance(user, User):
        return user
    with sandbox.lock:
        entries = [_entry(sandbox, c, user) for c in sandbox.chats_of(user.open_id)]
        context = _conversation_context(sandbox, user, chat_id) if chat_id else {"chat": None}
    direct = [e for e in entries if e.chat.p2p]
    groups = [e for e in entries if not e.chat.p2p]
    return _page(
        "sandbox/messenger.html", sandbox, direct=direct, groups=groups, rail="messenger", **context
    )


@bp.get("/messenger/<chat_id>/conversation")
def conversation(chat_id: str) -> Response | tuple[str, int]:
    """The polled region: 204 when nothing changed since the fingerprint the page holds."""
    sandbox = state.get()
    user = lark_session.current_user(sandbox)
    if user is None:
        abort(401)
    with sandbox.lock:
        context = _conversation_context(sandbox, user, chat_id)
    if request.args.get("v") == context["fingerprint"]:
        return "", 204
    html = render_template("sandbox/_conversation.html", **context)
    return Response(html, headers={"Vary": "HX-Request"})


def _entry(sandbox: Sandbox, chat: Chat, user: User) -> ChatEntry:
    messages = sandbox.messages_in(chat.chat_id)
    last = _summary(messages[-1], user.locale) if messages else ""
    ringing = bool(urgent.ringing(sandbox, user.open_id, {m.message_id for m in messages}))
    return ChatEntry(chat, _title(sandbox, chat), last, ringing)


def _title(sandbox: Sandbox, chat: Chat) -> str:
    if chat.p2p:
        app = sandbox.apps.get(next(iter(chat.bots), ""))
        return app.name if app else chat.name
    return chat.name


def _summary(message: Message, locale: str) -> str:
    try:
        content = json.loads(message.content)
    except ValueError:
        return ""
    if message.msg_type == "interactive" and isinstance(content, dict):
        return _("[Card] %(title)s", title=cards.view(content, _card_locale(locale)).title)
    return str(content.get("text", "")) if isinstance(content, dict) else ""


def _card_locale(locale: str) -> str:
    return locale.lower()


def _conversation_context(sandbox: Sandbox, user: User, chat_id: str) -> dict[str, Any]:
    """Callers hold the lock. 404 for chats this person is not in."""
    chat = sandbox.chats.get(chat_id)
    if chat is None or user.open_id not in chat.members:
        abort(404)
    messages = sandbox.messages_in(chat_id)
    items = [_item(sandbox, m, user) for m in messages]
    stamp = (
        "|".join(
            f"{m.message_id}:{len(m.history)}:{m.errors.get(user.open_id)}:{m.toasts.get(user.open_id)}"
            for m in messages
        )
        + "|"
        + ",".join(f"{i.message.message_id}={i.ringing}" for i in items if i.ringing)
    )
    return {
        "chat": chat,
        "chat_title": _title(sandbox, chat),
        "items": items,
        "bots": [sandbox.apps[b].name for b in chat.bots if b in sandbox.apps],
        "chat_bots": sorted(
            (sandbox.apps[b] for b in chat.bots if b in sandbox.apps), key=lambda a: a.name
        ),
        "is_owner": chat.owner_id == user.open_id or not chat.owner_id,
        "tenant_apps": [a for a in sandbox.apps.values() if a.tenant_key == chat.tenant_key],
        "fingerprint": hashlib.sha256(stamp.encode()).hexdigest()[:16],
    }


def _author(sandbox: Sandbox, message: Message, app: Any) -> str:
    if message.sender_id:
        person = sandbox.users.get(message.sender_id)
        return person.name if person else message.sender_id
    return str(app.name) if app else message.app_id


def _shown_text(sandbox: Sandbox, message: Message, text: str) -> str:
    """A person's message shows its @_user_N placeholders as the bots' names."""
    for index, app_id in enumerate(message.mentions, start=1):
        app = sandbox.apps.get(app_id)
        text = text.replace(f"@_user_{index}", f"@{app.name if app else app_id}")
    return text


def _item(sandbox: Sandbox, message: Message, user: User) -> MessageItem:
    app = sandbox.apps.get(message.app_id)
    sent = datetime.fromtimestamp(message.created_at, UTC)
    try:
        content = json.loads(message.content)
    except ValueError:
        content = {}
    card_view = None
    text = ""
    if message.msg_type == "interactive" and isinstance(content, dict):
        card_view = cards.view(content, _card_locale(user.locale))
        for interactive in card_view.interactives:
            interactive.revision = len(message.history)
    else:
        text = (
            str(content.get("text", message.content))
            if isinstance(content, dict)
            else message.content
        )
        text = _shown_text(sandbox, message, text)
    return MessageItem(
        message,
        _author(sandbox, message, app),
        sent.strftime("%m-%d %H:%M UTC"),
        sent.isoformat(),
        card_view,
        text,
        message.toasts.get(user.open_id),
        message.errors.get(user.open_id, ""),
        urgent.ringing(sandbox, user.open_id, {message.message_id}).get(message.message_id, ""),
    )


@bp.post("/messages/<message_id>/buzz/open")
def open_buzz(message_id: str) -> BaseResponse:
    """The person opens the buzzed card (Lark's buzz dialog): it stops ringing for them."""
    sandbox = state.get()
    user = lark_session.current_user(sandbox)
    if user is None:
        abort(401)
    with sandbox.lock:
        message = sandbox.messages.get(message_id)
        if message is None or user.open_id not in sandbox.chats[message.chat_id].members:
            abort(404)
        urgent.open_chat(sandbox, user.open_id, {message_id})
        item = _item(sandbox, message, user)
    if request.headers.get("HX-Request"):
        html = render_template("sandbox/_message.html", item=item)
        return Response(html, headers={"Vary": "HX-Request"})
    return redirect(url_for(".chat", chat_id=message.chat_id), 303)


@bp.post("/messages/<message_id>/actions/<int:index>")
def press(message_id: str, index: int) -> BaseResponse:
    """Press a card button as the signed-in person: Lark posts the callback, then shows the
    answer's toast and card, or its client error code."""
    sandbox = state.get()
    user = lark_session.current_user(sandbox)
    if user is None:
        abort(401)
    with sandbox.lock:
        message = sandbox.messages.get(message_id)
        if message is None or message.chat_id not in {
            c.chat_id for c in sandbox.chats_of(user.open_id)
        }:
            abort(404)
        # The press comes from the card this person sees: the revision their page drew
        # (a page drawn before a PATCH still shows the old buttons and sends their values).
        revisions = message.revisions()
        seen = request.form.get("seen", type=int)
        if seen is None:
            seen = len(revisions) - 1
        if not 0 <= seen < len(revisions):
            abort(409)
        items = cards.view(json.loads(revisions[seen]), _card_locale(user.locale)).interactives
        urgent.open_chat(sandbox, user.open_id, {message_id})  # pressing opens the card too
    if index >= len(items):
        abort(409)
    result = callbacks.click(
        sandbox, message_id, user.open_id, items[index], option=request.form.get("option")
    )
    if request.headers.get("HX-Request"):
        return _pressed_fragment(sandbox, message_id, user, result)
    return redirect(url_for(".chat", chat_id=message.chat_id), 303)


def _pressed_fragment(
    sandbox: Sandbox, message_id: str, user: User, result: ClickResult
) -> Response:
    with sandbox.lock:
        item = _item(sandbox, sandbox.messages[message_id], user)
    html = render_template("sandbox/_message.html", item=item)
    response = Response(html, headers={"Vary": "HX-Request"})
    toast = _toast_event(result)
    if toast:
        response.headers["HX-Trigger"] = json.dumps({"toast": toast})
    return response


def _toast_event(result: ClickResult) -> dict[str, str] | None:
    if not result.ok:
        return {
            "message": f"{result.error} ({result.error_code})"
            if result.error_code
            else result.error,
            "kind": "error",
        }
    if result.toast and result.toast.get("content"):
        kind = result.toast.get("type", "info")
        return {
            "message": str(result.toast["content"]),
            "kind": kind if kind in ("success", "error", "warning") else "info",
        }
    return None


@bp.get("/workbench")
def workbench() -> BaseResponse | str:
    sandbox = state.get()
    user = _user_or_redirect(sandbox)
    if not isinstance(user, User):
        return user
    with sandbox.lock:
        apps = [
            {"app": a, "visible": sandbox.visible(a, user)}
            for a in sandbox.apps.values()
            if a.tenant_key == user.tenant_key
        ]
    return _page("sandbox/workbench.html", sandbox, apps=apps, rail="workbench")


@bp.get("/workbench/<app_id>/open")
def open_app(app_id: str) -> BaseResponse:
    """Open the web app's homepage inside the "client" (login-free, as in Lark)."""
    sandbox = state.get()
    with sandbox.lock:
        app = sandbox.apps.get(app_id)
    if app is None or not app.homepage_url:
        abort(404)
    response = redirect(app.homepage_url, 302)
    lark_session.mark_in_client(response, app_id)
    return response


@bp.get("/avatars/<open_id>.svg")
def avatar(open_id: str) -> Response:
    sandbox = state.get()
    with sandbox.lock:
        user = sandbox.users.get(open_id)
    if user is None:
        abort(404)
    return _svg_badge(user.name[-2:], open_id)


@bp.get("/app-avatars/<app_id>.svg")
def app_avatar(app_id: str) -> Response:
    sandbox = state.get()
    with sandbox.lock:
        app = sandbox.apps.get(app_id)
    return _svg_badge((app.name if app else "?")[:1], app_id, square=True)


def _svg_badge(text: str, seed_text: str, square: bool = False) -> Response:
    hue = int(hashlib.sha256(seed_text.encode()).hexdigest()[:4], 16) % 360
    radius = 12 if square else 32
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">'
        f'<rect width="64" height="64" rx="{radius}" fill="hsl({hue},55%,42%)"/>'
        '<text x="32" y="41" font-size="22" text-anchor="middle" fill="#fff" '
        f'font-family="sans-serif">{escape(text)}</text></svg>'
    )
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "max-age=3600"})
