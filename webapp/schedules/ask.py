"""`@bot oncall` / `@bot 值班` in a Lark chat: who is on call now for the chat's channels.

Lark delivers `im.message.receive_v1` for group messages that @mention the bot (scope
im:message.group_at_msg:readonly) and for direct messages to it (im:message.p2p_msg:readonly).
The answer is a small card in the same chat, through the outbox (kind `reply`: non-incident
traffic under the free edition's quota rules), in plain text: names never go into markdown,
so none can smuggle an @all or a link into the chat. The chat's channels are those whose
dispatch rules send to that chat; their schedules are those the rules' layers page.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from webapp import outbox
from webapp.extensions import db
from webapp.identity import bindings
from webapp.models import (
    Channel,
    Delivery,
    DeliveryKind,
    DispatchRule,
    LarkIntegration,
    Member,
    Platform,
    Schedule,
    utcnow,
)
from webapp.oncall.schedule import on_call

ONCALL_WORDS = {"oncall", "on-call", "on call", "/oncall", "值班", "/值班", "谁值班"}
HELP_WORDS = {"help", "/help", "帮助", "?", "？"}
MENTION = re.compile(r"@_user_\d+")


def command_of(event: dict[str, Any]) -> str | None:
    """The words addressed to the bot, or None when the message is not for the bot."""
    message = event.get("message") if isinstance(event.get("message"), dict) else {}
    assert isinstance(message, dict)
    mentions = [m for m in message.get("mentions") or [] if isinstance(m, dict)]
    if message.get("chat_type") != "p2p" and not _mentions_bot(mentions):
        return None
    text = ""
    if message.get("message_type") == "text":
        try:
            content = json.loads(str(message.get("content") or "{}"))
        except ValueError:
            content = {}
        text = str(content.get("text", "")) if isinstance(content, dict) else ""
    return " ".join(MENTION.sub(" ", text).split()).lower()


def _mentions_bot(mentions: list[dict[str, Any]]) -> bool:
    # With only the @-message scope every group message we get mentions the bot; with the
    # all-messages scope, `mentioned_type` (lark-oapi's MentionEvent) tells the bot apart.
    typed = [m for m in mentions if m.get("mentioned_type")]
    if typed:
        return any(m.get("mentioned_type") == "bot" for m in typed)
    return bool(mentions)


def answer(integration: LarkIntegration, event: dict[str, Any]) -> Delivery | None:
    """Queue the bot's answer to one message; the caller commits."""
    command = command_of(event)
    message = event.get("message") or {}
    chat_id = str(message.get("chat_id") or "")
    if command is None or not chat_id or message.get("message_id") is None:
        return None
    locale = _locale(integration, event, command)
    with force_locale(locale):
        if command in ONCALL_WORDS:
            title, lines = _("Who is on call now"), on_call_lines(integration, chat_id, utcnow())
        else:
            title, lines = _("What I can answer"), help_lines()
    return outbox.enqueue(
        DeliveryKind.REPLY,
        integration.id,
        f"reply-{message['message_id']}",
        receive_id_type="chat_id",
        receive_id=chat_id,
        payload={"target": chat_id, "title": title, "lines": lines},
    )


def help_lines() -> list[str]:
    return [
        _(
            "@bot oncall (or @bot 值班): who is on call now for this chat's "
            "channels, and until when."
        ),
        _("@bot help: this list."),
    ]


def on_call_lines(integration: LarkIntegration, chat_id: str, now: datetime) -> list[str]:
    channels = _channels_of(integration, chat_id)
    if not channels:
        return [_("No channel's dispatch policy sends to this chat, so I cannot tell whose it is.")]
    lines: list[str] = []
    for channel, schedules in channels:
        if not schedules:
            lines.append(
                _("%(channel)s: its dispatch policy pages no schedule.", channel=channel.name)
            )
        for schedule in schedules:
            lines.append(_line(channel, schedule, now))
    return lines


def _line(channel: Channel, schedule: Schedule, now: datetime) -> str:
    shift = on_call(schedule, now)
    member = db.session.get(Member, shift.member_id) if shift else None
    if shift is None or member is None:
        return _(
            "%(channel)s · %(schedule)s: nobody is on call now.",
            channel=channel.name,
            schedule=schedule.name,
        )
    zone = ZoneInfo(schedule.timezone)
    until = shift.end.astimezone(zone)
    return _(
        "%(channel)s · %(schedule)s: %(name)s, until %(until)s (%(zone)s)",
        channel=channel.name,
        schedule=schedule.name,
        name=member.name,
        until=until.strftime("%m-%d %H:%M"),
        zone=_utc_offset(until),
    )


def _utc_offset(when: datetime) -> str:
    offset = when.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def _channels_of(
    integration: LarkIntegration, chat_id: str
) -> list[tuple[Channel, list[Schedule]]]:
    rules = db.session.scalars(
        select(DispatchRule)
        .where(DispatchRule.integration_id == integration.id, DispatchRule.enabled.is_(True))
        .order_by(DispatchRule.position, DispatchRule.id)
    )
    found: dict[int, tuple[Channel, dict[int, Schedule]]] = {}
    for rule in rules:
        layers = rule.layers or []
        if not any(chat_id in (layer.get("chat_ids") or []) for layer in layers):
            continue
        channel = db.session.get(Channel, rule.channel_id)
        if channel is None or channel.account_id != integration.account_id:
            continue
        _, schedules = found.setdefault(channel.id, (channel, {}))
        for layer in layers:
            for schedule_id in layer.get("schedule_ids") or []:
                schedule = db.session.get(Schedule, int(schedule_id))
                if schedule is not None and schedule.account_id == integration.account_id:
                    schedules.setdefault(schedule.id, schedule)
    return [(channel, list(schedules.values())) for channel, schedules in found.values()]


def _locale(integration: LarkIntegration, event: dict[str, Any], command: str) -> str:
    """Chinese for a question in Chinese; else the sender's language; else the platform's."""
    if any("\u4e00" <= ch <= "\u9fff" for ch in command):
        return "zh"
    sender = (event.get("sender") or {}).get("sender_id") or {}
    open_id = sender.get("open_id") if isinstance(sender, dict) else None
    binding = bindings.live_binding(integration, str(open_id)) if open_id else None
    member = db.session.get(Member, binding.member_id) if binding else None
    if member is not None and member.locale:
        return member.locale
    return "zh" if integration.platform is Platform.FEISHU else "en"
