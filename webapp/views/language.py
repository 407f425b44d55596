"""Which language and zone a request speaks, for Babel's selectors: the member's choice, then
Lark's, then the browser's; the signed-in member's zone (webapp/identity/timezones.py).

Outside a request (CLI, worker, tests) both answer None: the default locale, UTC.
"""

from __future__ import annotations

import re

from flask import g, has_request_context, request
from flask_login import current_user

from webapp.i18n import LOCALES
from webapp.identity import timezones

_LARK_LOCALE = re.compile(r"LarkLocale/([a-z]{2})[_-]", re.IGNORECASE)


def select_locale() -> str | None:
    if not has_request_context():  # CLI, worker, tests: the default locale
        return None
    chosen = getattr(current_user, "locale", None) if current_user else None
    if chosen in LOCALES:
        return str(chosen)
    lark = lark_locale(request.headers.get("User-Agent", ""))
    if lark:
        return lark
    return request.accept_languages.best_match(LOCALES)


def select_timezone() -> str | None:
    """The signed-in member's zone (webapp/identity/timezones.py); None is UTC."""
    if not has_request_context():
        return None
    lark = g.get("lark")
    if lark is not None:
        return timezones.name_for(lark.member, lark.integration)
    if current_user and current_user.is_authenticated:
        return timezones.name_for(current_user, None)
    return None


def lark_locale(user_agent: str) -> str | None:
    """`LarkLocale/zh_CN` in the Lark client user agent (undocumented; a hint only)."""
    match = _LARK_LOCALE.search(user_agent)
    if match and match.group(1).lower() in LOCALES:
        return match.group(1).lower()
    return None
