"""Editing a channel's dispatch policy, and the list of chats the bot is in (cached briefly).

`save_rule` is the one verb the admin page calls: it checks every choice against the
account (teams, members) and against the chats Lark says the bot is in, then writes the
DispatchRule row. Refusals raise `RuleInvalid` with a message per form field.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask
from flask_babel import gettext as _
from sqlalchemy import func, select

from webapp.dispatch import chat_events
from webapp.extensions import db
from webapp.lark.client import Chat, LarkClient
from webapp.lark.errors import LarkError, fix
from webapp.models import (
    Channel,
    ChatStatus,
    DispatchRule,
    LarkIntegration,
    Member,
    Schedule,
    Severity,
    Team,
    utcnow,
)

MAX_LAYERS = 3
MAX_DELAY_MINUTES = 24 * 60
CHATS_TTL = 60.0  # seconds: fresh enough for an admin adding the bot to a chat, then refreshing


@dataclass
class LayerInput:
    delay_minutes: int = 0
    assignees: bool = False
    team_ids: list[int] = field(default_factory=list)
    member_ids: list[int] = field(default_factory=list)
    chat_ids: list[str] = field(default_factory=list)
    schedule_ids: list[int] = field(default_factory=list)  # "whoever is on call in S"

    @property
    def empty(self) -> bool:
        return not (
            self.assignees or self.team_ids or self.member_ids or self.chat_ids or self.schedule_ids
        )


@dataclass
class RuleInput:
    name: str
    integration_id: int
    severities: list[str]
    labels_text: str
    enabled: bool
    layers: list[LayerInput]


class RuleInvalid(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class ChatList:
    chats: list[Chat]
    error: str | None = None  # why the list could not be read, in words
    # chat_id -> "removed" / "disbanded": what Lark's events said of chats no longer listed
    gone: dict[str, str] = field(default_factory=dict)


# -- the bot's chats -------------------------------------------------------------------------

_cache: dict[int, tuple[float, list[Chat], datetime]] = {}  # expiry, chats, when read
_cache_lock = threading.Lock()


def bot_chats(
    integration: LarkIntegration, refresh: bool = False, stale_ok: bool = False
) -> ChatList:
    """The group chats the bot is in (im/v1/chats, every page), kept for a minute, with
    what Lark's chat events said since the list was read. `stale_ok` (the form's polling)
    never calls Lark when a list is held: the events keep it current, and each call counts
    against the free edition's monthly quota."""
    with _cache_lock:
        hit = _cache.get(integration.id)
    if hit and not refresh and (stale_ok or hit[0] > time.monotonic()):
        return ChatList(_with_events(integration, hit[1], hit[2]), gone=_gone_of(integration))
    read_at = utcnow()
    try:
        chats = LarkClient.for_integration(integration).list_all_chats()
    except LarkError as exc:
        held = _with_events(integration, hit[1], hit[2]) if hit else []
        words = _("Lark did not list the chats: %(fix)s", fix=fix(exc.reason))
        return ChatList(held, words, _gone_of(integration))
    chat_events.reconcile(integration, chats, read_at)
    chats = [c for c in chats if not c.dissolved]
    with _cache_lock:
        _cache[integration.id] = (time.monotonic() + CHATS_TTL, chats, read_at)
    return ChatList(_with_events(integration, chats, read_at), gone=_gone_of(integration))


def _gone_of(integration: LarkIntegration) -> dict[str, str]:
    return {c: row.status.value for c, row in chat_events.gone([integration.id]).items()}


def _with_events(integration: LarkIntegration, chats: list[Chat], read_at: datetime) -> list[Chat]:
    """Lark's list as read at `read_at`, changed by every chat event since."""
    changed = chat_events.overrides(integration.id, read_at)
    listed = {c.chat_id for c in chats}
    kept = [
        Chat(c.chat_id, changed[c.chat_id].name) if c.chat_id in changed else c
        for c in chats
        if c.chat_id not in changed or changed[c.chat_id].status is ChatStatus.MEMBER
    ]
    added = [
        Chat(row.chat_id, row.name)
        for row in sorted(changed.values(), key=lambda r: r.changed_at)
        if row.status is ChatStatus.MEMBER and row.chat_id not in listed
    ]
    return kept + added


@dataclass(frozen=True)
class GoneTarget:
    """A chat a rule sends to that the bot left, or that was dissolved (Lark's events)."""

    rule: DispatchRule
    chat_id: str
    name: str
    status: ChatStatus
    changed_at: datetime


def gone_targets(rules: list[DispatchRule]) -> list[GoneTarget]:
    gone = chat_events.gone(sorted({r.integration_id for r in rules}))
    found: list[GoneTarget] = []
    for rule in rules:
        named = {c for layer in rule.layers or [] for c in layer.get("chat_ids") or []}
        for chat_id in sorted(named):
            row = gone.get(chat_id)
            if row is not None and row.integration_id == rule.integration_id:
                found.append(GoneTarget(rule, chat_id, row.name, row.status, row.changed_at))
    return found


@dataclass(frozen=True)
class GoneSchedule:
    """A schedule a rule pages through that no longer exists: nobody is paged through it."""

    rule: DispatchRule
    schedule_id: int
    name: str


def gone_schedules(account_id: int, rules: list[DispatchRule]) -> list[GoneSchedule]:
    named = {
        (rule.id, int(i)): str((layer.get("schedule_names") or {}).get(str(i), "?"))
        for rule in rules
        for layer in rule.layers or []
        for i in layer.get("schedule_ids") or []
    }
    if not named:
        return []
    alive = _ids(
        select(Schedule.id).where(
            Schedule.id.in_({i for _, i in named}), Schedule.account_id == account_id
        )
    )
    by_id = {r.id: r for r in rules}
    return [
        GoneSchedule(by_id[rule_id], schedule_id, name)
        for (rule_id, schedule_id), name in named.items()
        if schedule_id not in alive
    ]


def version_of(chats: ChatList) -> str:
    """A short fingerprint of the list: the form's polling gets 204 while it holds."""
    text = "|".join(f"{c.chat_id}:{c.name}" for c in chats.chats)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def forget_chats(integration_id: int | None = None) -> None:
    with _cache_lock:
        if integration_id is None:
            _cache.clear()
        else:
            _cache.pop(integration_id, None)


def init_app(app: Flask) -> None:
    app.extensions.setdefault("test_resets", []).append(forget_chats)


# -- saving ----------------------------------------------------------------------------------


def save_rule(
    channel: Channel, rule: DispatchRule | None, data: RuleInput, chats: ChatList
) -> DispatchRule:
    """Create or change one rule of `channel` after checking every choice; commits."""
    errors: dict[str, str] = {}
    integration = db.session.get(LarkIntegration, data.integration_id)
    if integration is None or integration.account_id != channel.account_id:
        errors["integration_id"] = _("Choose one of this account's Lark integrations.")
    name = data.name.strip()
    if not name or len(name) > 120:
        errors["name"] = _("Give the rule a name of at most 120 characters.")
    if any(s not in {v.value for v in Severity} for s in data.severities):
        errors["severities"] = _("Choose severities from the list.")
    labels = parse_labels(data.labels_text, errors)
    known_chats = {c.chat_id: c.name for c in chats.chats}
    # Chats chosen earlier stay valid while Lark's list is unavailable, but only for the
    # bot they were chosen for: another integration's bot is not in them.
    if rule is not None and rule.integration_id == data.integration_id:
        for layer in rule.layers or []:
            known_chats.update(
                {c: n for c, n in (layer.get("chat_names") or {}).items() if c not in known_chats}
            )
    bot = integration.name if integration is not None else "?"
    layers = _layers(channel, data.layers, known_chats, errors, bot)
    if errors:
        raise RuleInvalid(errors)
    if rule is None:
        rule = DispatchRule(channel_id=channel.id, position=_next_position(channel))
        db.session.add(rule)
    rule.integration_id = data.integration_id
    rule.name = name
    rule.severities = list(data.severities)
    rule.label_match = labels
    rule.enabled = data.enabled
    rule.layers = layers
    db.session.commit()
    return rule


def keep_chats_of(data: RuleInput, chats: ChatList) -> int:
    """Untick the chats `chats` (the chosen bot's) does not hold, after the admin switched
    the rule to another integration; returns how many were unticked."""
    if chats.error:  # Lark's list is unavailable: keep the choice, the save checks it
        return 0
    known = {c.chat_id for c in chats.chats}
    dropped = 0
    for layer in data.layers:
        kept = [c for c in layer.chat_ids if c in known]
        dropped += len(layer.chat_ids) - len(kept)
        layer.chat_ids = kept
    return dropped


def delete_rule(rule: DispatchRule) -> None:
    db.session.delete(rule)
    db.session.commit()


def parse_labels(text: str, errors: dict[str, str]) -> dict[str, str]:
    """`key=value`, one per line; every pair must match the incident's labels."""
    labels: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            errors["labels"] = _("Write one label per line as key=value.")
            return {}
        labels[key.strip()] = value.strip()
    return labels


def _layers(
    channel: Channel,
    given: list[LayerInput],
    known_chats: dict[str, str],
    errors: dict[str, str],
    bot: str,
) -> list[dict[str, Any]]:
    layers: list[dict[str, Any]] = []
    team_ids = _ids(select(Team.id).where(Team.account_id == channel.account_id))
    member_ids = _ids(select(Member.id).where(Member.account_id == channel.account_id))
    schedules = {
        i: n
        for i, n in db.session.execute(
            select(Schedule.id, Schedule.name).where(Schedule.account_id == channel.account_id)
        )
    }
    for index, layer in enumerate(given[:MAX_LAYERS]):
        if layer.empty:
            continue
        if not set(layer.team_ids) <= team_ids or not set(layer.member_ids) <= member_ids:
            errors[f"layer{index}"] = _("Choose teams and people of this account.")
        if not set(layer.schedule_ids) <= set(schedules):
            errors[f"layer{index}"] = _(
                "Choose schedules of this account; untick a schedule that was deleted."
            )
        if not set(layer.chat_ids) <= set(known_chats):
            errors[f"layer{index}"] = _(
                "The bot of %(integration)s is not in every chat chosen here. Untick them, "
                "or add the bot to the chat in Lark (chat settings → Group bots → Add bot) "
                "and refresh the list of chats.",
                integration=bot,
            )
        delay = 0 if not layers else layer.delay_minutes
        if layers and not 1 <= delay <= MAX_DELAY_MINUTES:
            errors[f"layer{index}"] = _("Wait between 1 minute and 24 hours before escalating.")
        layers.append(
            {
                "delay_minutes": delay,
                "assignees": layer.assignees,
                "team_ids": layer.team_ids,
                "member_ids": layer.member_ids,
                "chat_ids": layer.chat_ids,
                "chat_names": {c: known_chats.get(c, c) for c in layer.chat_ids},
                "schedule_ids": layer.schedule_ids,
                # Kept so a schedule deleted later is still named on the policy page.
                "schedule_names": {str(i): schedules.get(i, "?") for i in layer.schedule_ids},
            }
        )
    if not layers:
        errors["layer0"] = _("Choose at least one person, team, chat or schedule to tell.")
    return layers


def _ids(stmt: Any) -> set[int]:
    return set(db.session.scalars(stmt))


def _next_position(channel: Channel) -> int:
    highest = db.session.scalar(
        select(func.max(DispatchRule.position)).where(DispatchRule.channel_id == channel.id)
    )
    return (highest or 0) + 1
