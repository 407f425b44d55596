"""The weekly digest: last week's figures of a channel, as a card to the channel's group chats.

Due every Monday from 09:00 in the account's time (queries.ACCOUNT_ZONE) for a day; the
week is the Monday to Sunday before. The chats are those the channel's dispatch rules send
incidents to, through each rule's Lark integration. Each card is an outbox row of kind
"digest": non-incident traffic, so it waits while the free edition's monthly quota is used
up and keeps Lark's rate limits (webapp/delivery/kinds.py). Its uuid names the integration,
the chat and the week, so however often `enqueue_due` runs (the outbox worker calls it every
few minutes, `flask insights digest` by hand or cron), each chat gets one card a week.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from webapp import outbox
from webapp.cardkit import parts
from webapp.extensions import db
from webapp.insights import queries
from webapp.insights.words import duration
from webapp.models import (
    Channel,
    Delivery,
    DeliveryKind,
    DispatchRule,
    Incident,
    LarkIntegration,
    Platform,
    utcnow,
)

SEND_AT = time(9, 0)  # Monday, the account's local time
DUE_FOR = timedelta(days=1)  # a worker down all Monday still sends it until Tuesday 09:00


def week_due(now: datetime) -> datetime | None:
    """This week's Monday 09:00 (UTC) when the digest is due now, else None."""
    local = now.astimezone(queries.ACCOUNT_ZONE)
    monday = local.date() - timedelta(days=local.weekday())
    due = datetime.combine(monday, SEND_AT, queries.ACCOUNT_ZONE)
    return due if due <= local < due + DUE_FOR else None


@dataclass(frozen=True)
class Target:
    integration: LarkIntegration
    channel: Channel
    chat_id: str


def targets() -> list[Target]:
    """Every (integration, channel, chat) a dispatch rule sends incidents to."""
    found: dict[tuple[int, int, str], Target] = {}
    rules = db.session.scalars(select(DispatchRule).order_by(DispatchRule.id))
    for rule in rules:
        integration = db.session.get(LarkIntegration, rule.integration_id)
        channel = db.session.get(Channel, rule.channel_id)
        if integration is None or not integration.enabled or channel is None:
            continue
        for layer in rule.layers or []:
            for chat in layer.get("chat_ids") or []:
                key = (integration.id, channel.id, str(chat))
                found.setdefault(key, Target(integration, channel, str(chat)))
    return list(found.values())


def enqueue_due(now: datetime | None = None) -> int:
    """Write this week's digest rows that are due and not yet written; returns how many."""
    now = now or utcnow()
    due = week_due(now)
    if due is None:
        return 0
    written = 0
    for target in targets():
        uuid = _uuid(target, due)
        if db.session.scalar(select(Delivery.id).where(Delivery.uuid == uuid)) is not None:
            continue
        card = digest_card(target, due)
        written += _insert_once(target, uuid, card, now)
    db.session.commit()
    return written


def _uuid(target: Target, due: datetime) -> str:
    chat = hashlib.sha256(target.chat_id.encode()).hexdigest()[:16]
    week = due.astimezone(queries.ACCOUNT_ZONE).strftime("%G%V")
    return f"digest-{target.integration.id}-{target.channel.id}-{chat}-{week}"[:50]


def _insert_once(target: Target, uuid: str, card: dict[str, Any], now: datetime) -> int:
    written = outbox.enqueue_once(
        DeliveryKind.DIGEST,
        target.integration.id,
        uuid,
        receive_id_type="chat_id",
        receive_id=target.chat_id,
        now=now,
        payload={"target": target.chat_id, "channel_id": target.channel.id, "card": card},
    )
    return 0 if written is None else 1  # none when another worker wrote it first


# -- the card ----------------------------------------------------------------------------


def digest_card(target: Target, due: datetime) -> dict[str, Any]:
    """Last week's headline figures of the channel, in the integration's language."""
    sunday = due - timedelta(days=1)
    found = queries.insights(target.channel.account_id, 7, sunday, target.channel.id)
    before = _count(target.channel, found.scope.period.previous_start, found.scope.period.start)
    out_of_hours = sum(p.out_of_hours for p in found.people)
    period = found.scope.period
    last = period.first_day + timedelta(days=6)
    url = (
        f"{current_app.config['PUBLIC_BASE_URL']}/admin/insights/"
        f"?days=7&channel={target.channel.id}"
    )
    locale = "zh" if target.integration.platform is Platform.FEISHU else "en"
    with force_locale(locale):
        t = found.times
        lines = [
            _("**Incidents:** %(n)d (the week before: %(m)d)", n=found.total, m=before),
            _(
                "**Median time to acknowledge:** %(now)s (the week before: %(then)s)",
                now=duration(t.acknowledge.median),
                then=duration(t.previous_acknowledge.median),
            ),
            _(
                "**Median time to resolve:** %(now)s (the week before: %(then)s)",
                now=duration(t.resolve.median),
                then=duration(t.previous_resolve.median),
            ),
            _("**Out-of-hours pages:** %(n)d", n=out_of_hours),
            _("**Reached a second layer:** %(n)d", n=found.escalated),
        ]
        rules = [
            _(
                "%(rule)s: %(n)d incidents, %(share)d%% auto-resolved",
                rule=r.title,
                n=r.count,
                share=round(r.auto_share * 100),
            )
            for r in found.rules[:3]
        ]
        elements: list[dict[str, Any]] = [{"tag": "markdown", "content": "\n".join(lines)}]
        if rules:
            elements.append({"tag": "markdown", "content": _("**Noisiest alert rules**")})
            # Rule names are alert data: plain text, never read as markdown.
            text = {"tag": "plain_text", "content": "\n".join(rules)[:2000]}
            elements.append({"tag": "div", "text": text})
        elements.append(parts.link_button(_("Open insights"), url, "primary"))
        title = _("Weekly on-call digest: %(channel)s", channel=target.channel.name)
        subtitle = _(
            "%(first)s to %(last)s, Beijing time",
            first=period.first_day.isoformat(),
            last=last.isoformat(),
        )
    return {
        "schema": "2.0",
        "config": {"update_multi": True},
        "header": {
            "title": {"tag": "plain_text", "content": title[:200]},
            "subtitle": {"tag": "plain_text", "content": subtitle},
            "template": "blue",
        },
        "body": {"elements": elements},
    }


def _count(channel: Channel, start: datetime, end: datetime) -> int:
    return int(
        db.session.scalar(
            select(func.count()).where(
                Incident.account_id == channel.account_id,
                Incident.channel_id == channel.id,
                Incident.created_at >= start,
                Incident.created_at < end,
            )
        )
        or 0
    )


# -- `flask insights digest` ---------------------------------------------------------------

insights_cli = AppGroup("insights", help="Insights: the weekly digest.")


@insights_cli.command("digest")
def digest_command() -> None:
    """Write this week's digest cards to the outbox, when due (the worker sends them)."""
    click.echo(f"{enqueue_due()} digest card(s) queued")


def init_app(app: Flask) -> None:
    app.cli.add_command(insights_cli)
    app.extensions.setdefault("outbox_periodic", []).append(enqueue_due)
