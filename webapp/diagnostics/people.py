"""Lark users named as people: the name Lark shows for an open_id.

A card press carries only the presser's ids (`operator.open_id`), so the diagnostics page
asks Lark (contact/v3/users/:user_id) for the name of a presser it has to list, at most
LOOKUPS_PER_PAGE per page and each answer kept for NAME_TTL: a page read is not a burst of
calls against the monthly quota. A name a binding already recorded (an earlier link that
ended, say) needs no call. Without the contact scope the id is shown with a note.
"""

from __future__ import annotations

import threading
import time

from flask import Flask
from flask_babel import gettext as _
from sqlalchemy import select

from webapp.extensions import db
from webapp.lark.client import LarkClient
from webapp.lark.errors import LarkError
from webapp.models import FailureReason, LarkBinding, LarkIntegration
from webapp.vault import VaultError

LOOKUPS_PER_PAGE = 10
NAME_TTL = 3600.0  # seconds; a name barely changes, and a failed lookup is retried after it

# contact/v3/users/:user_id needs one of the contact:contact... scopes, not the field scope
# contact:user.base:readonly (Lark's user-get page; docs/lark/contacts.md).
NAME_SCOPE = "contact:contact.base:readonly"

_names: dict[tuple[int, str], tuple[float, str | None]] = {}
_scope_missing: set[tuple[int, str]] = set()  # lookups Lark refused for that scope
_lock = threading.Lock()


def lark_names(integration: LarkIntegration, open_ids: list[str]) -> dict[str, str]:
    """open_id -> the words naming that Lark user ("韩梅梅", else the id and why)."""
    known = _recorded_names(integration, open_ids)
    named: dict[str, str] = {}
    lookups = 0
    for open_id in open_ids:
        name = known.get(open_id) or _cached(integration.id, open_id)
        if name is None and lookups < LOOKUPS_PER_PAGE and not _tried(integration.id, open_id):
            lookups += 1
            name = _ask_lark(integration, open_id)
        named[open_id] = name or _unnamed(integration.id, open_id)
    return named


def _recorded_names(integration: LarkIntegration, open_ids: list[str]) -> dict[str, str]:
    stmt = select(LarkBinding.open_id, LarkBinding.lark_name).where(
        LarkBinding.integration_id == integration.id,
        LarkBinding.open_id.in_(open_ids),
        LarkBinding.lark_name.is_not(None),
    )
    return {open_id: name for open_id, name in db.session.execute(stmt) if name}


def _cached(integration_id: int, open_id: str) -> str | None:
    with _lock:
        hit = _names.get((integration_id, open_id))
    return hit[1] if hit and hit[0] > time.monotonic() else None


def _tried(integration_id: int, open_id: str) -> bool:
    with _lock:
        hit = _names.get((integration_id, open_id))
    return bool(hit and hit[0] > time.monotonic())


def _unnamed(integration_id: int, open_id: str) -> str:
    with _lock:
        scope_missing = (integration_id, open_id) in _scope_missing
    if scope_missing:
        return _(
            "%(id)s (Lark did not give the name: the app lacks the permission %(scope)s)",
            id=open_id,
            scope=NAME_SCOPE,
        )
    return _("%(id)s (Lark did not give the name)", id=open_id)


def _ask_lark(integration: LarkIntegration, open_id: str) -> str | None:
    refused = False
    try:
        name = LarkClient.for_integration(integration).user_name(open_id)
    except LarkError as exc:
        name, refused = None, exc.reason == FailureReason.NO_PERMISSION
    except VaultError:
        name = None
    with _lock:
        _names[(integration.id, open_id)] = (time.monotonic() + NAME_TTL, name)
        if refused:
            _scope_missing.add((integration.id, open_id))
        else:
            _scope_missing.discard((integration.id, open_id))
    return name


def forget_names() -> None:
    with _lock:
        _names.clear()
        _scope_missing.clear()


def init_app(app: Flask) -> None:
    app.extensions.setdefault("test_resets", []).append(forget_names)
