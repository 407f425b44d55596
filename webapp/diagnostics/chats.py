"""The checks that the bot is in every group chat the dispatch policies name (FAQ 3), and
that war rooms hold all their people."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from webapp.diagnostics.checks import Check, Level, cached
from webapp.dispatch import chat_events
from webapp.dispatch import rules as dispatch_rules
from webapp.extensions import db
from webapp.identity.integrations import lark_error_words
from webapp.lark.client import LarkClient
from webapp.lark.errors import LarkError
from webapp.lark.errors import fix as lark_fix
from webapp.models import (
    ChatStatus,
    DispatchRule,
    LarkIntegration,
    WarRoom,
    utcnow,
)


def dispatch_chat_ids(integration: LarkIntegration) -> dict[str, list[str]]:
    """chat_id -> names of the enabled dispatch rules that send to it."""
    rules = db.session.scalars(
        select(DispatchRule).where(
            DispatchRule.integration_id == integration.id, DispatchRule.enabled.is_(True)
        )
    )
    wanted: dict[str, list[str]] = {}
    for rule in rules:
        for layer in rule.layers or []:
            for chat_id in layer.get("chat_ids") or []:
                wanted.setdefault(str(chat_id), [])
                if rule.name not in wanted[str(chat_id)]:
                    wanted[str(chat_id)].append(rule.name)
    return wanted


def _live_chats(integration: LarkIntegration) -> tuple[datetime, set[str]] | tuple[str, str]:
    """(when read, the chat ids the bot is in), or Lark's error in words and its fix."""
    read_at = utcnow()
    try:
        chats = LarkClient.for_integration(integration).list_all_chats()
    except LarkError as error:
        return lark_error_words(error), lark_fix(error.reason)
    return read_at, {c.chat_id for c in chats}


def _gone(integration: LarkIntegration) -> Check | None:
    """What Lark's chat events said: the bot removed from, or a dissolved, policy chat."""
    rules = db.session.scalars(
        select(DispatchRule).where(
            DispatchRule.integration_id == integration.id, DispatchRule.enabled.is_(True)
        )
    )
    gone = dispatch_rules.gone_targets(list(rules))
    if not gone:
        return None
    items = [
        _("%(chat)s (rule %(rule)s): dissolved", chat=g.name, rule=g.rule.name)
        if g.status is ChatStatus.DISBANDED
        else _("%(chat)s (rule %(rule)s): the bot was removed", chat=g.name, rule=g.rule.name)
        for g in gone
    ]
    return Check(
        "chats",
        _("The bot is in the dispatch policies' group chats"),
        Level.FAILING,
        _(
            "Lark said %(count)s chat(s) a dispatch policy sends to can no longer receive cards.",
            count=len(gone),
        ),
        _(
            "Add the bot back in the chat's settings (Group bots → Add bot), or edit the "
            "channel's dispatch policy and choose another chat."
        ),
        items,
    )


def chats_check(integration: LarkIntegration) -> Check:
    wanted = dispatch_chat_ids(integration)
    title = _("The bot is in the dispatch policies' group chats")
    if not wanted:
        return Check("chats", title, Level.OK, _("No dispatch policy sends to a group chat."))
    key = ("chats", integration.id, integration.app_id, integration.api_base_url)
    live = cached(key, lambda: _live_chats(integration))
    if isinstance(live[0], datetime):  # the list corrects events it saw and we missed
        chat_events.reconcile(integration, live[1], live[0])
    gone = _gone(integration)
    if gone:
        return gone
    if isinstance(live[0], str):
        # The fix names the failure Lark answered (quota, credentials, rate limit, ...).
        words, fix = live
        return Check("chats", title, Level.WARNING, words, fix)
    seen = live[1]
    add_bot = _(
        "In Lark, open the group chat's settings → Group bots → Add bot, and add this app's bot. "
        "Then refresh the chat list on the channel's dispatch policy page."
    )
    if not seen:
        return Check(
            "chats",
            title,
            Level.FAILING,
            _("The bot is in no group chat: Lark lists none (分派策略飞书群聊列表为空)."),
            add_bot,
            sorted(wanted),
        )
    missing = sorted(c for c in wanted if c not in seen)
    if missing:
        items = [f"{c} ({', '.join(wanted[c])})" for c in missing]
        return Check(
            "chats",
            title,
            Level.FAILING,
            _(
                "The bot is missing from %(count)s chat(s) a dispatch policy sends to.",
                count=len(missing),
            ),
            add_bot,
            items,
        )
    return Check(
        "chats",
        title,
        Level.OK,
        _("The bot is in all %(count)s chat(s) the dispatch policies use.", count=len(wanted)),
    )


WAR_ROOMS_WINDOW = timedelta(days=7)


def war_rooms_check(integration: LarkIntegration) -> Check:
    """War rooms of the last 7 days that Lark made without some of their people."""
    title = _("War rooms have all their people")
    rooms = db.session.scalars(
        select(WarRoom)
        .where(
            WarRoom.integration_id == integration.id,
            WarRoom.created_at >= utcnow() - WAR_ROOMS_WINDOW,
        )
        .order_by(WarRoom.created_at.desc())
    )
    short = [r for r in rooms if r.missing]
    if not short:
        return Check(
            "war_rooms", title, Level.OK, _("No war room of the last 7 days left anyone out.")
        )
    items = [
        _(
            "%(room)s: %(people)s",
            room=r.name,
            people="; ".join(f"{m.get('name')} ({m.get('reason')})" for m in r.missing),
        )
        for r in short
    ]
    return Check(
        "war_rooms",
        title,
        Level.WARNING,
        _(
            "%(count)s war room(s) of the last 7 days were made without some people.",
            count=len(short),
        ),
        _(
            "Check each person's e-mail and mobile here against Lark, and that they are inside "
            "the app's availability range and still employed; then add them from the chat's "
            "settings."
        ),
        items,
    )
