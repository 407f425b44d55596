"""The individual diagnostic checks: each returns a `Check` with a status, evidence and a fix.

They read what normal traffic left behind (the integration's evidence columns, failed
deliveries, callback receipts, Lark's notable answers); two ask Lark live (a tenant token
and the bot's chat list), cached for a minute so the page stays fast and a refresh storm
does not spend the free edition's quota. The fixes are the seed guide's FAQ, in words.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from flask_babel import gettext as _
from sqlalchemy import or_, select

from webapp.cardkit.answer import Outcome
from webapp.diagnostics import people
from webapp.extensions import db
from webapp.i18n import ago
from webapp.identity import licensing
from webapp.identity.integrations import fresh_tenant_token, lark_error_words
from webapp.lark.errors import LarkError
from webapp.models import (
    Account,
    CallbackReceipt,
    Delivery,
    DeliveryStatus,
    LarkBinding,
    LarkIntegration,
    Member,
    utcnow,
)
from webapp.vault import VaultError

LIVE_TTL = 60.0  # seconds a live answer from Lark is reused
RECENT = timedelta(days=7)


class Level(enum.StrEnum):
    OK = "ok"
    WARNING = "warning"
    FAILING = "failing"


@dataclass
class Check:
    key: str
    title: str
    status: Level
    evidence: str
    fix: str = ""
    items: list[str] = field(default_factory=list)


def worst(levels: Any) -> Level:
    seen = set(levels)
    for level in (Level.FAILING, Level.WARNING):
        if level in seen:
            return level
    return Level.OK


# -- the live cache --------------------------------------------------------------------

T = TypeVar("T")
_cache: dict[tuple[Any, ...], tuple[float, Any]] = {}
_cache_lock = threading.Lock()


def cached(key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
    if hit and now - hit[0] < LIVE_TTL:
        return hit[1]
    value = compute()
    with _cache_lock:
        _cache[key] = (now, value)
    return value


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


# -- credentials and the card URL ------------------------------------------------------


def live_token(integration: LarkIntegration) -> tuple[int, str] | None:
    """None when Lark hands out a tenant token; else (code, words)."""
    try:
        fresh_tenant_token(integration)
    except LarkError as error:
        return error.code, lark_error_words(error)
    except VaultError:
        return 0, _("The stored App Secret cannot be decrypted with DATA_KEY. Enter it again.")
    return None


def credentials_check(integration: LarkIntegration) -> Check:
    key = (
        "token",
        integration.id,
        integration.app_id,
        integration.app_secret_sealed,
        integration.api_base_url,
    )
    failure = cached(key, lambda: live_token(integration))
    title = _("Credentials work (tenant token)")
    if failure is None:
        return Check(
            "credentials",
            title,
            Level.OK,
            _("Lark handed out a tenant token within the last minute."),
        )
    return Check(
        "credentials",
        title,
        Level.FAILING,
        failure[1],
        _(
            "Copy the App ID and App Secret again from Credentials & Basic Info in the Lark "
            "developer console, and check the Open API base URL."
        ),
    )


def card_url_check(integration: LarkIntegration) -> Check:
    title = _("Card request URL verified, callbacks arriving")
    subscribe = _(
        "In the Lark developer console, open Events and callbacks → Callback configuration, "
        "paste the card request URL from the integration page, save, and subscribe "
        "card.action.trigger and card.action.trigger_v1; then publish a new version."
    )
    if integration.url_verified_at is None:
        return Check(
            "card_url",
            title,
            Level.FAILING,
            _("Lark has not verified the card request URL yet."),
            subscribe,
        )
    verified = _(
        "Lark verified the card request URL %(ago)s.", ago=ago(integration.url_verified_at)
    )
    last = integration.last_callback_at
    if last is None or utcnow() - last > RECENT:
        none = (
            _("No button click has reached us yet.")
            if last is None
            else _("The last button click reached us %(ago)s.", ago=ago(last))
        )
        return Check(
            "card_url",
            title,
            Level.WARNING,
            f"{verified} {none}",
            _(
                "If people clicked card buttons since, check that card.action.trigger and "
                "card.action.trigger_v1 are subscribed and that the latest version is published."
            ),
        )
    latest = _("The last button click reached us %(ago)s.", ago=ago(last))
    return Check("card_url", title, Level.OK, f"{verified} {latest}")


# -- 未关联应用 --------------------------------------------------------------------------


def live_bindings(integration: LarkIntegration) -> dict[int, LarkBinding]:
    rows = db.session.scalars(
        select(LarkBinding).where(
            LarkBinding.integration_id == integration.id, LarkBinding.ended_at.is_(None)
        )
    )
    return {b.member_id: b for b in rows}


def _members(account_id: int) -> list[Member]:
    stmt = select(Member).where(Member.account_id == account_id).order_by(Member.name)
    return list(db.session.scalars(stmt))


def members_linked_check(integration: LarkIntegration) -> Check:
    bound = live_bindings(integration)
    unlinked = [m.name for m in _members(integration.account_id) if m.id not in bound]
    title = _("Members linked to Lark")
    if not unlinked:
        return Check("members_linked", title, Level.OK, _("Every member is linked to a Lark user."))
    return Check(
        "members_linked",
        title,
        Level.WARNING,
        _(
            "%(count)s member(s) are not linked to a Lark user and get no personal cards.",
            count=len(unlinked),
        ),
        _(
            "Ask them to open the app once from Lark: Workbench → search the app's name → Open, "
            "and sign in. An admin can also link everyone at once by e-mail and mobile."
        ),
        unlinked,
    )


def _recent_failed(integration: LarkIntegration, reasons: tuple[str, ...]) -> list[Delivery]:
    stmt = (
        select(Delivery)
        .where(
            Delivery.integration_id == integration.id,
            Delivery.status == DeliveryStatus.FAILED,
            Delivery.reason.in_(reasons),
            Delivery.created_at >= utcnow() - RECENT,
        )
        .order_by(Delivery.created_at.desc())
    )
    return list(db.session.scalars(stmt))


def target_of(delivery: Delivery) -> str:
    if delivery.member is not None:
        return delivery.member.name
    return delivery.receive_id or "?"


def not_linked_deliveries_check(integration: LarkIntegration) -> Check:
    """Cards that could not reach a person (未关联应用), split by what the fix is.

    A failure with a Lark code (230013) means Lark refused: the person is outside the
    app's visibility range. One without a code was never sent: the member has no live
    binding, so we do not know their Lark user yet.
    """
    failed = _recent_failed(integration, ("not_linked",))
    title = _("Personal cards reach people (未关联应用)")
    if not failed:
        return Check(
            "not_linked_deliveries",
            title,
            Level.OK,
            _("No card failed with 未关联应用 in the last 7 days."),
        )
    refused = [d for d in failed if d.last_error_code is not None]
    unbound = [d for d in failed if d.last_error_code is None]
    evidence, fixes = [], []
    if refused:
        evidence.append(
            _(
                "Lark refused %(count)s card(s) with 230013 in the last 7 days: the people are "
                "outside the app's visibility range.",
                count=len(refused),
            )
        )
        fixes.append(
            _(
                "Publish the app to all staff: in the developer console set the visibility "
                "range (可用范围) to all employees and publish a new version."
            )
        )
    if unbound:
        evidence.append(
            _(
                "%(count)s card(s) could not be sent in the last 7 days because the person has "
                "never opened the app, so we do not know their Lark user.",
                count=len(unbound),
            )
        )
        fixes.append(
            _(
                "Ask them to open the web app from the workbench (工作台 → search the app → "
                "Open) and sign in once."
            )
        )
    people = sorted({target_of(d) for d in failed})
    return Check(
        "not_linked_deliveries",
        title,
        Level.FAILING,
        " ".join(evidence),
        " ".join(fixes),
        people,
    )


def card_operators_check(integration: LarkIntegration) -> Check:
    """Presses refused because the presser was not linked, counting only people still
    unlinked now (one who linked since is fine), named by their Lark name."""
    linked = select(LarkBinding.open_id).where(
        LarkBinding.integration_id == integration.id, LarkBinding.ended_at.is_(None)
    )
    stmt = select(CallbackReceipt.operator_open_id).where(
        CallbackReceipt.integration_id == integration.id,
        CallbackReceipt.outcome == Outcome.NOT_LINKED,
        CallbackReceipt.created_at >= utcnow() - RECENT,
        or_(
            CallbackReceipt.operator_open_id.is_(None),
            CallbackReceipt.operator_open_id.not_in(linked),
        ),
    )
    refused = [open_id or "?" for open_id in db.session.scalars(stmt)]
    title = _("Card buttons work for everyone who clicks")
    if not refused:
        return Check(
            "card_operators",
            title,
            Level.OK,
            _("No click from an unlinked Lark user in the last 7 days."),
        )
    operators = sorted(set(refused))
    names = people.lark_names(integration, operators)
    return Check(
        "card_operators",
        title,
        Level.FAILING,
        _(
            "%(count)s click(s) in the last 7 days came from %(people)s Lark user(s) not "
            "linked to a member yet.",
            count=len(refused),
            people=len(operators),
        ),
        _(
            "Ask them to open the app from the workbench and sign in once. If they already did, "
            "open the menu at the top right, choose Switch account and sign in again. Someone "
            "who is not a member yet is added by an admin on the Members page."
        ),
        sorted(names[o] for o in operators),
    )


# -- license -----------------------------------------------------------------------------


def license_check(account: Account) -> Check:
    seats = licensing.usage(account)
    refused = licensing.refusal_count(account.id, utcnow() - RECENT)
    title = _("License seats")
    evidence = _("%(used)s of %(allowed)s seats in use.", used=seats.used, allowed=seats.allowed)
    fix = _(
        "Assign a seat on the License page, release seats people no longer need, or buy more seats."
    )
    if refused:
        more = _(
            "%(count)s action(s) were refused for lack of a seat in the last 7 days.",
            count=refused,
        )
        return Check("license", title, Level.FAILING, f"{evidence} {more}", fix)
    if seats.full:
        full = _("All seats are taken: a member without one cannot act on incidents.")
        return Check("license", title, Level.WARNING, f"{evidence} {full}", fix)
    return Check("license", title, Level.OK, evidence)


# -- chats, permissions, limits ---------------------------------------------------------
