"""Who is at the keyboard under /lark/<key>/...: the integration, the member, the binding.

The signed cookie session remembers the integration key and the binding a member came
through (`session["lark"]`). A visit without it starts Lark OAuth, which inside the Lark
client comes back at once without a consent page, and the live binding signs the member
in: that is the login-free second visit. Tokens never go into the session.

Cookies inside Lark: the web app normally runs as a top-level page of Lark's web-app
container, where the default SameSite=Lax cookie works (the OAuth round trip is a
top-level GET navigation). Where the page is framed by another site (the Lark desktop
sidebar / Base iframes, an AppLink in `sidebar` mode: UNCONFIRMED which containers frame
it), a Lax cookie is not sent, so behind HTTPS the deployment sets
SESSION_COOKIE_SECURE=1 and SESSION_COOKIE_SAMESITE=None. That is safe here because every
form and htmx request also carries a CSRF token; browsers refuse SameSite=None without
Secure, so plain-http demos keep Lax.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import flask_babel
from flask import g, request, session
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import contains_eager

from webapp.extensions import db
from webapp.identity import timezones
from webapp.models import LarkBinding, LarkIntegration, Member
from webapp.views import lark_login, lark_problems

SESSION_KEY = "lark"
# Set by static/lark.js from the device's zone (Intl API): the Lark client's time zone.
CLIENT_ZONE_COOKIE = "lk_tz"

# Lark client user agents carry `Lark/7.27.8`, `Feishu/7.35.0`, `LarkClient/7.20.0` or
# `LarkLocale/zh_CN` (third-party captures only, UNCONFIRMED): a hint for layout, never
# used to decide who someone is.
_LARK_UA = re.compile(r"(?:\b(?:Lark|Feishu|LarkClient)/\d)|LarkLocale/", re.IGNORECASE)


@dataclass(frozen=True)
class LarkContext:
    integration: LarkIntegration
    member: Member
    binding: LarkBinding
    in_lark_client: bool


def in_lark_client() -> bool:
    return bool(_LARK_UA.search(request.headers.get("User-Agent", "")))


def enabled_integration(key: str) -> LarkIntegration | None:
    return db.session.execute(
        select(LarkIntegration).where(LarkIntegration.key == key, LarkIntegration.enabled)
    ).scalar_one_or_none()


def remember(integration: LarkIntegration, binding: LarkBinding) -> None:
    session[SESSION_KEY] = {"key": integration.key, "binding": binding.id}


def forget() -> None:
    session.pop(SESSION_KEY, None)


def _context_rows(key: str) -> tuple[LarkIntegration | None, LarkBinding | None]:
    """The enabled integration and the binding this browser remembers for it, with its
    member, in one statement (every page and every 15-second refresh starts here). The
    member lands in the session's identity map, so the sign-in check finds it there."""
    remembered = session.get(SESSION_KEY)
    wanted = None
    if isinstance(remembered, dict) and remembered.get("key") == key:
        wanted = remembered.get("binding")
    if not isinstance(wanted, int) or isinstance(wanted, bool):
        wanted = None
    row = db.session.execute(_CONTEXT, {"key": key, "binding": wanted}).first()
    if row is None:
        return None, None
    return row[0], row[1]


# Every Lark page and every refresh runs it: built once.
_CONTEXT = (
    select(LarkIntegration, LarkBinding)
    .outerjoin(
        LarkBinding,
        and_(
            LarkBinding.id == bindparam("binding"),  # None: no binding is remembered
            LarkBinding.integration_id == LarkIntegration.id,
            LarkBinding.ended_at.is_(None),
        ),
    )
    .outerjoin(Member, Member.id == LarkBinding.member_id)
    .where(LarkIntegration.key == bindparam("key"), LarkIntegration.enabled)
    .options(contains_eager(LarkBinding.member))  # held by the binding, not weakly mapped
)


def lark_member_required(view: Callable[..., ResponseReturnValue]) -> Callable[..., Any]:
    """For routes under /lark/<key>/: 404 page for an unknown or disabled integration,
    OAuth (then the bind page) without a bound member, else `g.lark` is set."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        integration, binding = _context_rows(kwargs["key"])
        if integration is None:
            return lark_problems.integration_missing()
        signed_in = current_user.is_authenticated  # the session record, member from the row
        if binding is None or not signed_in or binding.member_id != current_user.id:
            return lark_login.start_login(integration)
        g.lark = LarkContext(integration, binding.member, binding, in_lark_client())
        timezones.note_client(binding.member, unquote(request.cookies.get(CLIENT_ZONE_COOKIE, "")))
        flask_babel.refresh()  # the member's language and zone, not a cached earlier guess
        return view(*args, **kwargs)

    return wrapper
