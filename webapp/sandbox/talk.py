"""What a person does in a group that Lark tells the bots about: add or remove a bot,
dissolve the group, write a message (with @bot). Each sends its event (events.py).

The forms of the simulated client's group pages (/_lark/chats/...) are this module's
blueprint; tests and the demo reach the same verbs through webapp/sandbox/handle.py.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from webapp.sandbox import events, lark_session, state
from webapp.sandbox.events import Sent
from webapp.sandbox.state import Chat, ChatState, Message, Sandbox, User

# The group's forms in the simulated client (/_lark/chats/...), mounted by init_app.
bp = Blueprint("lark_sandbox_talk", __name__, url_prefix="/_lark")

MAX_TEXT = 4000


class NotAllowed(Exception):
    """The person cannot do that in this chat (not a member, not the owner...)."""


def _group_of(sandbox: Sandbox, chat_id: str, open_id: str) -> tuple[Chat, User]:
    chat = sandbox.chats.get(chat_id)
    user = sandbox.users.get(open_id)
    if chat is None or user is None or chat.p2p or open_id not in chat.members:
        raise NotAllowed("not a member of this group")
    if chat.status is not ChatState.NORMAL:
        raise NotAllowed("the group was dissolved")
    return chat, user


def set_bot(
    sandbox: Sandbox, chat_id: str, app_id: str, open_id: str, present: bool
) -> Sent | None:
    """Add or remove an app's bot, as a member does in the group's settings."""
    with sandbox.lock:
        chat, user = _group_of(sandbox, chat_id, open_id)
        app = sandbox.apps.get(app_id)
        if app is None or app.tenant_key != chat.tenant_key:
            raise NotAllowed("no such app in this tenant")
        if (app_id in chat.bots) == present:
            return None  # nothing changes, nothing is sent
        chat.bots.add(app_id) if present else chat.bots.discard(app_id)
    send = events.bot_added if present else events.bot_deleted
    return send(sandbox, app, chat, user)


def dissolve(sandbox: Sandbox, chat_id: str, open_id: str) -> list[Sent]:
    """The owner dissolves the group; every bot in it hears im.chat.disbanded_v1."""
    with sandbox.lock:
        chat, user = _group_of(sandbox, chat_id, open_id)
        if chat.owner_id and chat.owner_id != open_id:
            raise NotAllowed("only the group's owner can dissolve it")
        chat.status = ChatState.DISSOLVED
    return events.disbanded(sandbox, chat, user)


def say(
    sandbox: Sandbox, chat_id: str, open_id: str, text: str, mention: list[str]
) -> tuple[Message, list[Sent]]:
    """A person's text message; `mention` names the app_ids of bots @mentioned in it."""
    with sandbox.lock:
        chat = sandbox.chats.get(chat_id)
        user = sandbox.users.get(open_id)
        if chat is None or user is None or open_id not in chat.members:
            raise NotAllowed("not a member of this chat")
        if chat.status is not ChatState.NORMAL:
            raise NotAllowed("the group was dissolved")
        bots = [sandbox.apps[a] for a in mention if a in chat.bots and a in sandbox.apps]
        now = sandbox.now()
        message = Message(
            "om_" + secrets.token_hex(16),
            "",
            chat.chat_id,
            "text",
            events.text_content(text[:MAX_TEXT], bots),
            now,
            now,
            sender_id=open_id,
            mentions=[b.app_id for b in bots],
        )
        sandbox.messages[message.message_id] = message
        receivers = [sandbox.apps[a] for a in sorted(chat.bots) if a in sandbox.apps]
    sent = [events.message_received(sandbox, app, chat, message, user, bots) for app in receivers]
    return message, [s for s in sent if s is not None]


# -- the client's forms ----------------------------------------------------------------------


def _signed_in(sandbox: Sandbox) -> User:
    user = lark_session.current_user(sandbox)
    if user is None:
        abort(401)
    return user


@bp.post("/chats/<chat_id>/bot")
def group_bot(chat_id: str) -> BaseResponse:
    """Add or remove an app's bot in a group, as a group member does in its settings; the
    app hears im.chat.member.bot.added_v1 / deleted_v1 at its event request URL."""
    sandbox = state.get()
    user = lark_session.current_user(sandbox)
    if user is None:
        abort(404)
    present = request.form.get("present") == "1"
    try:
        set_bot(sandbox, chat_id, request.form.get("app_id", ""), user.open_id, present)
    except NotAllowed:
        abort(404)
    return redirect(url_for("lark_sandbox_client.chat", chat_id=chat_id), 303)


@bp.post("/chats/<chat_id>/dissolve")
def dissolve_form(chat_id: str) -> BaseResponse:
    sandbox = state.get()
    try:
        dissolve(sandbox, chat_id, _signed_in(sandbox).open_id)
    except NotAllowed:
        abort(403)
    return redirect(url_for("lark_sandbox_client.messenger"), 303)


@bp.post("/chats/<chat_id>/messages")
def say_form(chat_id: str) -> BaseResponse:
    sandbox = state.get()
    text = request.form.get("text", "").strip()
    if text:
        try:
            say(sandbox, chat_id, _signed_in(sandbox).open_id, text, request.form.getlist("at"))
        except NotAllowed:
            abort(403)
    return redirect(url_for("lark_sandbox_client.chat", chat_id=chat_id), 303)
