"""What every send from the worker passes before Lark: the free edition's monthly quota,
Lark's rate limits (and the "running late" notice to the channel's chats when they hold a
notification back), and the client that counts each call. Shared by the incident kinds
(kinds.py) and the schedules' kinds (schedule_kinds.py).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from webapp import outbox
from webapp.delivery import lark_limits
from webapp.delivery.outcomes import note_waiting, stats
from webapp.extensions import db
from webapp.lark import usage
from webapp.lark.client import LarkClient
from webapp.models import (
    Delivery,
    DeliveryKind,
    DispatchRule,
    FailureReason,
    Incident,
    LarkIntegration,
)
from webapp.outbox import NOTIFY_PURPOSE

NOTICE_AFTER = timedelta(minutes=1)  # late by more than this: tell the channel's chats once
NOTICE_EVERY = timedelta(minutes=30)  # at most one such notice per chat per half hour


def client(integration: LarkIntegration) -> LarkClient:
    return _Counting(LarkClient.for_integration(integration))  # type: ignore[return-value]


class _Counting:
    """Counts each Lark call the worker makes (the benchmark's calls per delivered message)."""

    def __init__(self, client: LarkClient) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if not callable(method):
            return method

        def counted(*args: Any, **kwargs: Any) -> Any:
            stats.add(calls=1)
            return method(*args, **kwargs)

        return counted


# -- the free edition's monthly quota -------------------------------------------------------


def waits_for_quota(row: Delivery, integration: LarkIntegration, now: datetime) -> bool:
    """At 100 % only incident notifications go out; the rest waits for the 1st of next month."""
    notification = (
        row.kind == DeliveryKind.SEND_CARD and (row.payload or {}).get("purpose") == NOTIFY_PURPOSE
    )
    if notification or not lark_limits.quota_used_up(integration, now):
        return False
    reset = lark_limits.quota_resets_at(now)
    row.next_attempt_at = reset
    row.reason = FailureReason.QUOTA
    row.last_error = (
        "the free edition's monthly API quota is used up; only incident notifications are "
        f"sent until it resets on {reset.astimezone(usage.QUOTA_TZ):%Y-%m-%d} (00:00 Beijing time)"
    )
    stats.add(deferred=1)
    return True


# -- rate limits and the "running late" notice ---------------------------------------------


def waits_for_limit(
    row: Delivery,
    incident: Incident | None,
    integration: LarkIntegration,
    now: datetime,
    wait: float,
) -> bool:
    if wait <= 0:
        return False
    row.next_attempt_at = now + timedelta(seconds=wait)
    stats.add(deferred=1)
    row.reason = row.reason or FailureReason.RATE_LIMITED
    note_waiting(row, now)
    if incident is not None:
        maybe_notice(row, incident, now)
    return True


def maybe_notice(row: Delivery, incident: Incident, now: datetime) -> None:
    """Delivery running more than a minute late: one notice per chat of the channel."""
    if (
        row.kind not in (DeliveryKind.SEND_CARD, DeliveryKind.UPDATE_CARD)
        or incident.channel_id is None
    ):
        return
    if row.next_attempt_at - row.created_at <= NOTICE_AFTER:
        return
    bucket = int(now.timestamp() // NOTICE_EVERY.total_seconds())
    for chat_id in channel_chats(incident.channel_id, row.integration_id):
        digest = hashlib.sha256(chat_id.encode()).hexdigest()[:20]
        outbox.enqueue_once(
            DeliveryKind.NOTICE,
            row.integration_id,
            f"notice-{row.integration_id}-{digest}-{bucket}",
            receive_id_type="chat_id",
            receive_id=chat_id,
            now=now,
            payload={"target": chat_id, "channel_id": incident.channel_id},
        )


def channel_chats(channel_id: int, integration_id: int) -> list[str]:
    rules = db.session.scalars(
        select(DispatchRule).where(
            DispatchRule.channel_id == channel_id, DispatchRule.integration_id == integration_id
        )
    )
    chats: dict[str, None] = {}
    for rule in rules:
        for layer in rule.layers or []:
            chats.update(dict.fromkeys(str(c) for c in layer.get("chat_ids") or []))
    return list(chats)


def notice_card(locale: str) -> dict[str, Any]:
    with force_locale(locale):
        title = _("Incident notifications are running late")
        text = _(
            "Lark's rate limits are delaying incident cards by more than a minute. "
            "Nothing is lost: they arrive in order as soon as Lark allows."
        )
    return {
        "schema": "2.0",
        "config": {"update_multi": True},
        "header": {"title": {"tag": "plain_text", "content": title}, "template": "yellow"},
        "body": {"elements": [{"tag": "markdown", "content": text}]},
    }
