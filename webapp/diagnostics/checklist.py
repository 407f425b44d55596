"""The setup checklist of an integration: the seed guide's steps, ticked from evidence.

Nothing is ticked by hand. Each step reads what Lark's traffic proved (a tenant token, a
verified URL handshake, a delivered card, a chat list, an OAuth login coming back) or
disproved (a failed delivery, a refused permission). Where nothing we can observe proves a
step, the step says so instead of pretending.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.i18n import ago
from webapp.models import (
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    LarkApiEvent,
    LarkBinding,
    LarkIntegration,
    utcnow,
)

WINDOW = timedelta(days=30)


class StepStatus(enum.StrEnum):
    DONE = "done"
    FAILING = "failing"
    WAITING = "waiting"  # not proven yet; the evidence says what will prove it
    UNKNOWN = "unknown"  # nothing we can observe proves or disproves it


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    where: str  # where in the Lark developer console, as the guide says it
    status: StepStatus
    evidence: str


@dataclass(frozen=True)
class Evidence:
    """What traffic has shown about one integration, read once per page."""

    token_ok_at: datetime | None
    token_error: str | None
    url_verified_at: datetime | None
    last_callback_at: datetime | None
    last_send_ok_at: datetime | None
    chats_listed_at: datetime | None
    events_verified_at: datetime | None
    last_event_at: datetime | None
    last_message_at: datetime | None
    has_encrypt_key: bool
    oauth_logins: int
    bulk_links: int
    not_linked_failures: int
    permission_refusals: list[str]
    buzzes_ok: set[str]  # app / sms / phone: kinds of buzz Lark accepted (a page or a test)
    buzz_scope_refusals: int


def gather(integration: LarkIntegration) -> Evidence:
    def bindings(method: str) -> int:
        stmt = select(func.count(LarkBinding.id)).where(
            LarkBinding.integration_id == integration.id, LarkBinding.method == method
        )
        return int(db.session.execute(stmt).scalar_one())

    since = utcnow() - WINDOW
    failures = select(func.count(Delivery.id)).where(
        Delivery.integration_id == integration.id,
        Delivery.status == DeliveryStatus.FAILED,
        Delivery.reason == "not_linked",
        Delivery.created_at >= since,
    )
    refused = select(LarkApiEvent.path).where(
        LarkApiEvent.integration_id == integration.id,
        LarkApiEvent.kind.in_(("permission", "no_permission")),
        LarkApiEvent.created_at >= since,
    )
    buzzes = db.session.execute(
        select(Delivery.status, Delivery.reason, Delivery.payload).where(
            Delivery.integration_id == integration.id,
            Delivery.kind == DeliveryKind.BUZZ,
            Delivery.created_at >= since,
            Delivery.status.in_((DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)),
        )
    ).all()
    return Evidence(
        token_ok_at=integration.token_ok_at,
        token_error=integration.token_error,
        url_verified_at=integration.url_verified_at,
        last_callback_at=integration.last_callback_at,
        last_send_ok_at=integration.last_send_ok_at,
        chats_listed_at=integration.chats_listed_at,
        events_verified_at=integration.events_verified_at,
        last_event_at=integration.last_event_at,
        last_message_at=integration.last_message_at,
        has_encrypt_key=bool(integration.encrypt_key_sealed),
        oauth_logins=bindings("oauth"),
        bulk_links=bindings("bulk"),
        not_linked_failures=int(db.session.execute(failures).scalar_one()),
        permission_refusals=sorted(set(db.session.scalars(refused))),
        buzzes_ok={
            str((payload or {}).get("via"))
            for status, _reason, payload in buzzes
            if status is DeliveryStatus.DELIVERED
        },
        buzz_scope_refusals=sum(1 for _s, reason, _p in buzzes if reason == "buzz_scope"),
    )


def steps(integration: LarkIntegration) -> list[Step]:
    ev = gather(integration)
    return [
        _create_app(ev),
        _credentials(ev),
        _callback_secrets(ev),
        _capabilities(ev),
        _homepage(ev),
        _card_callback(ev),
        _chat_events(ev),
        _redirect_url(ev),
        _permissions(ev),
        _urgent_scopes(ev),
        _publish(ev),
    ]


def progress(items: list[Step]) -> tuple[int, int]:
    return sum(1 for s in items if s.status is StepStatus.DONE), len(items)


# -- the steps, in the guide's order -----------------------------------------------------


def _create_app(ev: Evidence) -> Step:
    title = _("Create a self-built app (企业自建应用)")
    where = _("Lark developer console → Create custom app")
    if ev.token_ok_at:
        text = _("Lark knows the app: it issued a tenant token %(ago)s.", ago=ago(ev.token_ok_at))
        return Step("create_app", title, where, StepStatus.DONE, text)
    text = _("We cannot check this from here until the credentials work (next step).")
    return Step("create_app", title, where, StepStatus.UNKNOWN, text)


def _credentials(ev: Evidence) -> Step:
    title = _("Copy the App ID and App Secret into this integration")
    where = _("Credentials & Basic Info (凭证与基础信息)")
    # A success clears token_error (webapp/lark/usage.py), so an error is the latest word.
    if ev.token_error:
        return Step("credentials", title, where, StepStatus.FAILING, ev.token_error)
    if ev.token_ok_at:
        text = _("Lark accepted them %(ago)s.", ago=ago(ev.token_ok_at))
        return Step("credentials", title, where, StepStatus.DONE, text)
    text = _("Press “Test credentials” to check them with Lark.")
    return Step("credentials", title, where, StepStatus.WAITING, text)


def _callback_secrets(ev: Evidence) -> Step:
    title = _("Copy the Verification Token and Encrypt Key into this integration")
    where = _("Events and callbacks → Encryption strategy (加密策略)")
    if ev.url_verified_at:
        text = _("Lark's URL verification carried the same Verification Token.")
        if not ev.has_encrypt_key:
            text += " " + _("No Encrypt Key is set: generating one is recommended.")
        return Step("callback_secrets", title, where, StepStatus.DONE, text)
    text = _("Checked when Lark verifies the card request URL (step 6).")
    return Step("callback_secrets", title, where, StepStatus.WAITING, text)


def _capabilities(ev: Evidence) -> Step:
    title = _("Enable the Web app and Bot capabilities")
    where = _("Add features → By capability (按能力添加)")
    bot = ev.last_send_ok_at or ev.chats_listed_at
    web = ev.oauth_logins > 0
    if bot and web:
        text = _("The bot sent a card or listed chats, and people opened the web app.")
        return Step("capabilities", title, where, StepStatus.DONE, text)
    parts = [
        _("Bot: confirmed.") if bot else _("Bot: confirmed when the first card is sent."),
        _("Web app: confirmed.")
        if web
        else _("Web app: confirmed when someone opens the app from the workbench."),
    ]
    return Step("capabilities", title, where, StepStatus.WAITING, " ".join(parts))


def _homepage(ev: Evidence) -> Step:
    title = _("Set the desktop and mobile homepage to the web config URL")
    where = _("Web app (网页应用) → Desktop homepage, Mobile homepage")
    if ev.oauth_logins:
        text = _("%(count)s person(s) opened the app and signed in.", count=ev.oauth_logins)
        return Step("homepage", title, where, StepStatus.DONE, text)
    text = _("Confirmed when someone opens the app from the Lark workbench and signs in.")
    return Step("homepage", title, where, StepStatus.WAITING, text)


def _card_callback(ev: Evidence) -> Step:
    title = _(
        "Subscribe card callbacks at the card request URL: card.action.trigger and "
        "card.action.trigger_v1"
    )
    where = _("Events and callbacks → Callback configuration (回调配置)")
    if ev.url_verified_at and ev.last_callback_at:
        text = _(
            "URL verified %(verified)s; the last button click arrived %(clicked)s.",
            verified=ago(ev.url_verified_at),
            clicked=ago(ev.last_callback_at),
        )
        return Step("card_callback", title, where, StepStatus.DONE, text)
    if ev.url_verified_at:
        text = _(
            "URL verified %(verified)s. The subscription is confirmed by the first button click.",
            verified=ago(ev.url_verified_at),
        )
        return Step("card_callback", title, where, StepStatus.WAITING, text)
    text = _("Lark has not verified the card request URL yet: paste it and save.")
    return Step("card_callback", title, where, StepStatus.WAITING, text)


def _chat_events(ev: Evidence) -> Step:
    title = _(
        "Subscribe the bot's events at the event request URL: im.chat.member.bot.added_v1, "
        "im.chat.member.bot.deleted_v1, im.chat.disbanded_v1 and im.message.receive_v1"
    )
    where = _("Events and callbacks → Event configuration (事件配置) → Add events")
    if ev.events_verified_at and ev.last_event_at:
        text = _(
            "URL verified %(verified)s; the last event arrived %(arrived)s.",
            verified=ago(ev.events_verified_at),
            arrived=ago(ev.last_event_at),
        )
        return Step("chat_events", title, where, StepStatus.DONE, text)
    if ev.events_verified_at:
        text = _(
            "URL verified %(verified)s. The subscription is confirmed by the first event, "
            "e.g. adding the bot to a group chat.",
            verified=ago(ev.events_verified_at),
        )
        return Step("chat_events", title, where, StepStatus.WAITING, text)
    text = _(
        "Lark has not verified the event request URL yet: paste it and save. Without it, "
        "a chat the bot joins appears in the dispatch form only after “Refresh the list of "
        "chats”."
    )
    return Step("chat_events", title, where, StepStatus.WAITING, text)


def _redirect_url(ev: Evidence) -> Step:
    title = _("Add the redirect URL")
    where = _("Security settings (安全设置) → Redirect URLs")
    if ev.oauth_logins:
        text = _("A Lark login came back through it.")
        return Step("redirect_url", title, where, StepStatus.DONE, text)
    text = _("Confirmed when the first person signs in from the web app.")
    return Step("redirect_url", title, where, StepStatus.WAITING, text)


# im.message.receive_v1 needs a scope of its own (Lark's receive_v1 page; im:message is not
# one of them): in groups @bot messages, in the bot's direct chat every message.
MESSAGE_EVENT_SCOPES = "im:message.group_at_msg:readonly, im:message.p2p_msg:readonly"


def _permissions(ev: Evidence) -> Step:
    title = _(
        "Apply for im:chat, im:message, %(message_scopes)s, contact:user.id:readonly and "
        "contact:contact.base:readonly",
        message_scopes=MESSAGE_EVENT_SCOPES,
    )
    where = _("Permissions & Scopes (权限管理)")
    if ev.permission_refusals:
        text = _(
            "Lark refused calls for a missing permission: %(paths)s.",
            paths=", ".join(ev.permission_refusals),
        )
        return Step("permissions", title, where, StepStatus.FAILING, text)
    seen = {
        "im:message": bool(ev.last_send_ok_at),
        "im:chat": bool(ev.chats_listed_at),
        MESSAGE_EVENT_SCOPES: bool(ev.last_message_at),
        "contact:user.id:readonly": ev.bulk_links > 0,
    }
    confirmed = [scope for scope, ok in seen.items() if ok]
    if len(confirmed) == len(seen):
        text = _(
            "Each was used successfully: a card sent, the chat list read, an @bot message "
            "received, members linked by e-mail."
        )
        return Step("permissions", title, where, StepStatus.DONE, text)
    text = _(
        "Confirmed so far: %(scopes)s. The others are confirmed when a card is sent, a chat "
        "list is loaded, someone writes @bot in a group, or members are linked by e-mail.",
        scopes=", ".join(confirmed) or _("none"),
    )
    return Step("permissions", title, where, StepStatus.WAITING, text)


def _urgent_scopes(ev: Evidence) -> Step:
    """Ticked only by a buzz Lark accepted: a page's, or the rules page's test buzz."""
    title = _(
        "Apply for im:message.urgent (and im:message.urgent:sms, im:message.urgent:phone for "
        "SMS and phone buzzes)"
    )
    where = _("Permissions & Scopes (权限管理)")
    if ev.buzz_scope_refusals and not ev.buzzes_ok:
        text = _(
            "Lark refused %(count)s buzz(es) for a missing urgent permission in the last 30 days.",
            count=ev.buzz_scope_refusals,
        )
        return Step("urgent_scopes", title, where, StepStatus.FAILING, text)
    if "app" in ev.buzzes_ok:
        text = _("Buzzes Lark accepted: %(kinds)s.", kinds=", ".join(sorted(ev.buzzes_ok)))
        return Step("urgent_scopes", title, where, StepStatus.DONE, text)
    text = _(
        "Not proven yet: confirmed when a page buzzes someone, or when a member presses "
        '"Send me a test buzz" on their notification rules page.'
    )
    return Step("urgent_scopes", title, where, StepStatus.WAITING, text)


def _publish(ev: Evidence) -> Step:
    title = _("Publish a version with the visibility range set to all staff")
    where = _("Version Management & Release (版本管理与发布) → Visibility range (可用范围)")
    if ev.not_linked_failures:
        text = _(
            "%(count)s card(s) in the last 30 days could not reach people outside the "
            "visibility range (230013).",
            count=ev.not_linked_failures,
        )
        return Step("publish", title, where, StepStatus.FAILING, text)
    if ev.last_send_ok_at:
        text = _(
            "A card was delivered, so a version is published. We cannot see the visibility "
            "range itself; nobody was found outside it so far."
        )
        return Step("publish", title, where, StepStatus.DONE, text)
    text = _("We cannot check this from here until a first card is sent.")
    return Step("publish", title, where, StepStatus.UNKNOWN, text)
