"""Lark's rate limits, as a tiny named API over `webapp.ratelimit`'s Limiter.

The worker asks before every call (`allow_send`, `allow_update`, `allow_call`) and gets
0.0 (go) or the seconds to wait; it reschedules the row instead of sleeping. With
REDIS_URL set, every worker on every host shares one budget per app.

All the limits of one call are tested first and only then counted, so a refusal costs
nothing; if another worker wins the race between the test and the count, the counts
already taken are simply wasted (we err on the side of sending slower, never faster).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from flask import current_app
from limits import RateLimitItem, parse
from sqlalchemy import func, select

from webapp import ratelimit
from webapp.extensions import db
from webapp.lark import usage
from webapp.models import Edition, LarkApiEvent, LarkIntegration

log = logging.getLogger(__name__)

# Each budget is a little under Lark's number. We count a call a few milliseconds before Lark
# does, and those milliseconds vary from call to call (other threads, the network, a busy
# host): calls we spaced out can reach Lark bunched together, and Lark would see one too
# many in its window. `margin` keeps that from turning into a 99991400 / 230020. Per-second
# budgets get the wider margin: only bursts use them, the sustained pace is 1,000 a minute.


def _under(lark_number: int, per: str, margin: int) -> RateLimitItem:
    return parse(f"{lark_number - margin}/{per}")


# Frequency control, https://open.feishu.cn/document/server-docs/api-call-guide/frequency-control
# "per API x app x tenant". UNCONFIRMED: an app-wide 50/s across all APIs appears only in a
# third-party table; we enforce it too, it costs nothing below the per-API numbers.
APP_CALLS_PER_SECOND = _under(50, "second", 5)
# Send message, https://open.feishu.cn/document/server-docs/im-v1/message/create:
# "接口频率限制 1000 次/分钟、50 次/秒".
SEND_PER_MINUTE = _under(1000, "minute", 10)
SEND_PER_SECOND = _under(50, "second", 5)
# The pace: 33 in any 2 seconds is at most 990 in any minute, so sends are spread over the
# minute window instead of spending it in a 20-second burst and then standing still for
# 40 (which also ran at 45 of Lark's 50 a second, one bunched batch from a refusal).
SEND_PACE = parse("33 per 2 seconds")
# Same page: "向同一用户发送消息的限频为 5 QPS、向同一群组发送消息的限频为群内机器人共享 5 QPS"
# (230020 when exceeded).
RECIPIENT_PER_SECOND = _under(5, "second", 1)
# Update a card (PATCH), https://open.feishu.cn/document/server-docs/im-v1/message-card/patch:
# "1000 次/分钟、50 次/秒" for the API and "单条消息更新频控为 5 QPS" (230020).
PATCH_PER_MINUTE = _under(1000, "minute", 10)
PATCH_PER_SECOND = _under(50, "second", 5)
PATCH_PACE = parse("33 per 2 seconds")
MESSAGE_PATCH_PER_SECOND = _under(5, "second", 1)
# Chats (create, add members) and contact lookups: "1000 次/分钟、50 次/秒" each.
OTHER_PER_MINUTE = _under(1000, "minute", 10)
OTHER_PER_SECOND = _under(50, "second", 5)

Check = tuple[RateLimitItem, tuple[str, ...]]


def allow_send(app_id: str, receive_id: str) -> float:
    """Budget for one message to a user or chat: 0.0 to go, or seconds to wait."""
    return _take(
        [
            (RECIPIENT_PER_SECOND, ("lark-recipient", app_id, receive_id)),
            (SEND_PACE, ("lark-send", app_id)),
            (SEND_PER_SECOND, ("lark-send", app_id)),
            (SEND_PER_MINUTE, ("lark-send", app_id)),
            (APP_CALLS_PER_SECOND, ("lark-app", app_id)),
        ]
    )


def allow_update(app_id: str, message_id: str) -> float:
    """Budget for one PATCH of a card."""
    return _take(
        [
            (MESSAGE_PATCH_PER_SECOND, ("lark-patch-message", app_id, message_id)),
            (PATCH_PACE, ("lark-patch", app_id)),
            (PATCH_PER_SECOND, ("lark-patch", app_id)),
            (PATCH_PER_MINUTE, ("lark-patch", app_id)),
            (APP_CALLS_PER_SECOND, ("lark-app", app_id)),
        ]
    )


def allow_call(app_id: str, api: str) -> float:
    """Budget for any other counted call (create chat, add members, list chats)."""
    return _take(
        [
            (OTHER_PER_SECOND, ("lark-api", app_id, api)),
            (OTHER_PER_MINUTE, ("lark-api", app_id, api)),
            (APP_CALLS_PER_SECOND, ("lark-app", app_id)),
        ]
    )


# A wait this short (the pace, one recipient's second) is slept in the worker's thread with
# the row in hand: rescheduling it would cost two transactions to save nothing, since every
# other row waits for the same budget.
PATIENCE_S = 2.0


def patiently(ask: Callable[[], float], patience: float = PATIENCE_S) -> float:
    """Ask for a budget, sleeping through short waits; returns 0.0 or a longer wait."""
    deadline = time.monotonic() + patience
    while True:
        wait = ask()
        if wait <= 0 or time.monotonic() + wait > deadline:
            return wait
        time.sleep(wait)


def _take(checks: list[Check]) -> float:
    limiter = ratelimit.limiter()
    for item, ids in checks:
        if not limiter.test(item, *ids):
            return _wait(item, ids)
    for item, ids in checks:
        if not limiter.hit(item, *ids):
            return _wait(item, ids)
    return 0.0


# A refused budget waits this much past the moment its window frees a slot. Without it a
# woken worker (or a rescheduled row) takes the slot on the window's very edge and calls Lark
# at once, while the call that held the slot reached Lark a few milliseconds after we counted
# it (a token fetch, another thread): Lark's window then still holds that call, and the new
# one is its 6th in a second (230020). The margin in the count cannot cover this: calls
# bunched at both edges of our window are up to twice the budget in Lark's second. A wait
# that lands past the edge can: the earlier calls have left Lark's window too.
EDGE_S = 0.1


def _wait(item: RateLimitItem, ids: tuple[str, ...]) -> float:
    """Seconds until the window frees a slot, plus EDGE_S so the call lands clear of it."""
    try:
        stats = ratelimit.limiter().strategy.get_window_stats(item, *ids)
        return max(0.0, stats.reset_time - time.time()) + EDGE_S
    except Exception:
        log.exception("rate limit storage failed; waiting one window")
        return float(item.get_expiry())


# -- the free edition's monthly quota ---------------------------------------------------------


def quota_used_up(integration: LarkIntegration, now: datetime) -> bool:
    """The tenant's quota is used up this month: Lark said so (99991403, whatever edition the
    form says), or the free edition's calls counted by the Lark client reached the quota."""
    if quota_refused_at(integration, now) is not None:
        return True
    if integration.edition is not Edition.FREE:
        return False
    used = usage.monthly_calls(integration.id, usage.month_of(now))
    return used >= int(current_app.config["LARK_FREE_MONTHLY_QUOTA"])


def quota_refused_at(integration: LarkIntegration, now: datetime) -> datetime | None:
    """When Lark last answered 99991403 (quota used up) this Beijing month, if it did."""
    return db.session.scalar(
        select(func.max(LarkApiEvent.created_at)).where(
            LarkApiEvent.integration_id == integration.id,
            LarkApiEvent.kind == "quota",
            LarkApiEvent.created_at >= usage.month_starts_at(now),
        )
    )


def lark_said_quota_used_up(integration: LarkIntegration, now: datetime) -> None:
    """Lark answered 99991403: the tenant is on the free edition whatever the form said.

    The edition is set to free and the switch is remembered (a LarkApiEvent the integration
    page shows), so the quota rule and the diagnostics check follow Lark's answer.
    """
    if integration.edition is Edition.FREE:
        return
    integration.edition = Edition.FREE
    db.session.add(
        LarkApiEvent(
            integration_id=integration.id,
            path="edition",
            code=99991403,
            kind=EDITION_SET_FREE,
            created_at=now,
        )
    )


def edition_set_free_at(integration: LarkIntegration) -> datetime | None:
    """When a 99991403 switched this integration's edition to free (None: never)."""
    return db.session.scalar(
        select(func.max(LarkApiEvent.created_at)).where(
            LarkApiEvent.integration_id == integration.id,
            LarkApiEvent.kind == EDITION_SET_FREE,
        )
    )


EDITION_SET_FREE = "edition_free"


def quota_resets_at(now: datetime) -> datetime:
    """The 1st of next month, 00:00 Beijing time (webapp/lark/usage.py counts Beijing months)."""
    return usage.quota_resets_at(now)
