"""The integration form's two helpers: Lark's word on the App ID and App Secret at save
time, and the secrets an invalid form keeps without showing them.

On save we ask Lark for a tenant_access_token with what was typed. A definite "no" (a wrong
App Secret, an unknown App ID: any answer that is not transient) refuses the save and puts
Lark's code and the fix on the App Secret field, because a wrong secret saved in silence is
only found later, when a card does not arrive. Lark not answering (network, 5xx, rate limit)
saves anyway with a warning: the check cannot decide, and setup may happen before the server
can reach Lark. The save waits at most SAVE_CHECK_TIMEOUT for the answer.

A form sent back for a mistake keeps each secret typed in a valid field, sealed with DATA_KEY
(webapp/vault.py) into a hidden `kept_<field>` input and named "kept" on the page: the HTML
never carries a secret in the clear (a password field's `value` would sit in the page, the
browser's history and any cache), and the admin does not paste it again. A sealed value names
its field and integration, and expires after KEPT_MAX_AGE.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp import vault
from webapp.lark.client import LarkClient
from webapp.lark.errors import LarkError, fix
from webapp.lark.transport import token_cache
from webapp.models import LarkIntegration, utcnow

SAVE_CHECK_TIMEOUT = 3.0  # seconds; against the sandbox the answer takes milliseconds
KEPT_MAX_AGE = 3600  # seconds a kept secret stays usable
SECRET_FIELDS = ("app_secret", "verification_token", "encrypt_key")


_CHECK_BOTH = _l(
    "Copy the App ID and the App Secret again from Credentials & Basic Info (凭证与基础信息) "
    "of this app in the Lark developer console; if the secret was reset there, use the new one."
)


@dataclass(frozen=True)
class Verdict:
    """accepted True / False, or None when Lark could not be asked; `words` for people."""

    accepted: bool | None
    words: str
    code: int | None = None


def ask_lark(app_id: str, app_secret: str, base_url: str) -> Verdict:
    """A fresh tenant_access_token for these credentials, asked of Lark now."""
    timeout = min(float(current_app.config["LARK_HTTP_TIMEOUT"]), SAVE_CHECK_TIMEOUT)
    client = LarkClient(base_url=base_url, app_id=app_id, app_secret=app_secret, timeout=timeout)
    token_cache.drop(getattr(client, "_cache_key", ("", "", "")))  # a cached token proves nothing
    try:
        client.tenant_token()
    except LarkError as error:
        said = (
            _("Lark answered %(code)s: %(msg)s.", code=error.code, msg=error.msg)
            if error.reason != "network"
            else _("Lark could not be reached: %(msg)s.", msg=error.msg)
        )
        if not error.permanent:
            return Verdict(None, f"{said} {fix(error.reason)}", error.code)
        return Verdict(False, f"{said} {_CHECK_BOTH}", error.code)
    return Verdict(True, _("Lark accepted the App ID and App Secret."))


def record(integration: LarkIntegration, verdict: Verdict) -> None:
    """The answer is the checklist's evidence too (token_ok_at / token_error)."""
    if verdict.accepted:
        integration.token_ok_at = utcnow()
        integration.token_error = None
    elif verdict.accepted is None:
        integration.token_error = verdict.words[:500]


def not_reached_warning(verdict: Verdict) -> str:
    return _(
        "Saved without Lark's word on the App Secret: %(said)s Use “Test credentials” once "
        "Lark answers.",
        said=verdict.words,
    )


# -- secrets kept across an invalid form ------------------------------------------------------


def _purpose(field: str, integration_id: int | None) -> str:
    return f"integration-form:{integration_id or 'new'}:{field}:"


def keep(field: str, value: str, integration_id: int | None) -> str:
    return vault.seal(_purpose(field, integration_id) + value)


def kept(field: str, sealed: str, integration_id: int | None) -> str:
    """The secret a hidden `kept_<field>` carries; "" when it is not one of ours any more."""
    if not sealed:
        return ""
    try:
        plain = vault.unseal_fresh(sealed, KEPT_MAX_AGE)
    except vault.VaultError:
        return ""
    prefix = _purpose(field, integration_id)
    return plain[len(prefix) :] if plain.startswith(prefix) else ""


def keep_valid(
    typed: dict[str, str], errors: dict[str, str], integration_id: int | None
) -> dict[str, str]:
    """field -> sealed value, for each secret typed in a field that has no mistake."""
    return {
        name: keep(name, value, integration_id)
        for name, value in typed.items()
        if name in SECRET_FIELDS and value and name not in errors
    }
