"""The cards that tell a window's chats that maintenance began or ended.

The chats are those the dispatch rules send incidents to (the window's channel's rules, or
every rule of the account for a window over matchers), through each rule's Lark integration.
Each card is an outbox row of kind "maintenance", drawn now in the integration's language;
the worker sends it like the weekly digest (quota and rate limits kept). Names are plain
text, never markdown.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select

from webapp import outbox
from webapp.extensions import db
from webapp.models import (
    Channel,
    DeliveryKind,
    DispatchRule,
    LarkIntegration,
    MaintenanceWindow,
    Platform,
    Silence,
    utcnow,
)


def chats(window: MaintenanceWindow) -> list[tuple[LarkIntegration, str]]:
    """(integration, chat_id) pairs, each once, of the rules in the window's scope."""
    stmt = select(DispatchRule).join(Channel, Channel.id == DispatchRule.channel_id)
    stmt = stmt.where(Channel.account_id == window.account_id)
    if window.channel_id is not None:
        stmt = stmt.where(DispatchRule.channel_id == window.channel_id)
    found: dict[tuple[int, str], LarkIntegration] = {}
    for rule in db.session.scalars(stmt.order_by(DispatchRule.id)):
        integration = db.session.get(LarkIntegration, rule.integration_id)
        if integration is None or not integration.enabled:
            continue
        for layer in rule.layers or []:
            for chat in layer.get("chat_ids") or []:
                found.setdefault((integration.id, str(chat)), integration)
    return [(integration, chat) for (_, chat), integration in found.items()]


def began(window: MaintenanceWindow, silence: Silence, held: int) -> int:
    def lines() -> tuple[str, list[str]]:
        title = _("Maintenance began: %(name)s", name=window.name)
        return title, [
            _("Until %(when)s.", when=_local(silence.ends_at, window.timezone)),
            _("Alerts in its scope are recorded, not paged."),
            _("Open incidents held now: %(n)d (their pending escalations are cancelled).", n=held),
        ]

    return _post(window, silence, "start", lines, "grey")


def ended(
    window: MaintenanceWindow, silence: Silence, alerts: int, still_open: int, paged: int
) -> int:
    def lines() -> tuple[str, list[str]]:
        title = _("Maintenance ended: %(name)s", name=window.name)
        summary = _(
            "%(alerts)s, %(open)s",
            alerts=ngettext("%(num)d alert", "%(num)d alerts", alerts),
            open=ngettext(
                "%(num)d incident still open", "%(num)d incidents still open", still_open
            ),
        )
        then = (
            _("Incidents still waiting are paged now: %(n)d.", n=paged)
            if window.page_at_end
            else _("Nobody is paged for them: this window does not page at its end.")
        )
        return title, [summary, then]

    return _post(window, silence, "end", lines, "green")


def _post(window: MaintenanceWindow, silence: Silence, moment: str, lines: Any, color: str) -> int:
    now = utcnow()
    targets = chats(window)
    for index, (integration, chat) in enumerate(targets):
        locale = "zh" if integration.platform is Platform.FEISHU else "en"
        with force_locale(locale):
            title, body = lines()
        outbox.enqueue(
            DeliveryKind.MAINTENANCE,
            integration.id,
            f"mw-{silence.id}-{moment}-{index}"[:50],
            receive_id_type="chat_id",
            receive_id=chat,
            next_attempt_at=now,
            layer=0,
            payload={"target": chat, "card": card(title, body, color)},
        )
    return len(targets)


def card(title: str, lines: list[str], color: str) -> dict[str, Any]:
    return {
        "schema": "2.0",
        "config": {"update_multi": True},
        "header": {"title": {"tag": "plain_text", "content": title[:200]}, "template": color},
        "body": {
            "elements": [
                {"tag": "div", "text": {"tag": "plain_text", "content": line}} for line in lines
            ]
        },
    }


def _local(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M ") + zone
