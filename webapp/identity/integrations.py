"""The integration center's service: create, change, test and remove Lark integrations.

An admin pastes what the Lark developer console shows (App ID, App Secret, Verification
Token, Encrypt Key) and copies back the four URLs built from the integration's key.
Secrets are sealed by the `LarkIntegration` properties (webapp/vault.py) and are never
shown again in full: pages show `mask(...)`, and a blank field on the edit form keeps
the stored value.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select

from webapp.extensions import db
from webapp.identity import credentials
from webapp.identity.integration_form import IntegrationInput, IntegrationInvalid, validate
from webapp.lark.client import LarkClient
from webapp.lark.errors import LarkError, fix
from webapp.lark.transport import token_cache
from webapp.models import (
    Account,
    ApiUsage,
    CallbackReceipt,
    CardMessage,
    Delivery,
    DispatchRule,
    Edition,
    LarkApiEvent,
    LarkBinding,
    LarkIntegration,
    Platform,
    WarRoom,
    utcnow,
)
from webapp.vault import VaultError


@dataclass(frozen=True)
class CredentialCheck:
    ok: bool
    message: str
    code: int | None = None
    reason: str | None = None


# -- URLs and defaults -----------------------------------------------------------------


def default_bases(platform: Platform) -> tuple[str, str]:
    """(Open API base, OAuth accounts base) for a platform, from the app's settings."""
    config = current_app.config
    if platform is Platform.LARK:
        return config["LARK_INTL_API_BASE"], config["LARK_INTL_ACCOUNTS_BASE"]
    return config["LARK_FEISHU_API_BASE"], config["LARK_FEISHU_ACCOUNTS_BASE"]


def sandbox_base() -> str:
    """The local Lark stand-in the demo and the tests use (only mounted with LARK_SANDBOX)."""
    return str(current_app.config["PUBLIC_BASE_URL"]) + "/_lark"


def urls(integration: LarkIntegration) -> dict[str, str]:
    """The URLs the admin pastes into the Lark developer console."""
    base = f"{current_app.config['PUBLIC_BASE_URL']}/lark/{integration.key}"
    return {
        "web": f"{base}/",
        "redirect": f"{base}/oauth/callback",
        "card": f"{base}/card",
        "events": f"{base}/events",
    }


def mask(secret: str | None) -> str:
    """Enough of a secret to recognise it, never enough to use it."""
    if not secret:
        return ""
    return "•" * 8 + secret[-4:] if len(secret) > 8 else "•" * 8


# -- verbs -----------------------------------------------------------------------------


def create(account: Account, data: IntegrationInput) -> tuple[LarkIntegration, list[str]]:
    """A new integration with a fresh unguessable key; returns it and any warnings."""
    clean = validate(data, creating=True)
    verdict = _lark_says(clean.app_id, clean.app_secret, _base_of(clean))
    integration = LarkIntegration(
        account_id=account.id,
        key=secrets.token_urlsafe(24),
        name=clean.name,
        app_id=clean.app_id,
        enabled=True,
    )
    integration.app_secret = clean.app_secret
    integration.verification_token = clean.verification_token
    integration.encrypt_key = clean.encrypt_key or None
    _apply_platform(integration, clean)
    credentials.record(integration, verdict)
    db.session.add(integration)
    db.session.commit()
    return integration, clean.warnings + _unanswered(verdict)


def update(integration: LarkIntegration, data: IntegrationInput) -> list[str]:
    """Change what the admin changed; blank secrets keep the stored ones.

    Evidence that no longer proves anything is forgotten: new credentials need a new
    token, and a new Verification Token or Encrypt Key needs a new URL handshake.
    """
    clean = validate(data, creating=False)
    credentials_changed = clean.app_id != integration.app_id or bool(clean.app_secret)
    verdict = None
    if credentials_changed or _base_of(clean) != integration.api_base_url:
        secret = clean.app_secret or integration.app_secret
        verdict = _lark_says(clean.app_id, secret, _base_of(clean))
    integration.name = clean.name
    integration.app_id = clean.app_id
    if clean.app_secret:
        integration.app_secret = clean.app_secret
    callback_changed = _replace_callback_secrets(integration, clean)
    base_before = integration.api_base_url
    _apply_platform(integration, clean)
    if credentials_changed or integration.api_base_url != base_before:
        integration.token_ok_at = None
        integration.token_error = None
    if callback_changed:
        integration.url_verified_at = None
    if verdict is not None:
        credentials.record(integration, verdict)
    db.session.commit()
    return clean.warnings + (_unanswered(verdict) if verdict else [])


def _base_of(clean: IntegrationInput) -> str:
    return clean.api_base_url or default_bases(Platform(clean.platform))[0]


def _lark_says(app_id: str, app_secret: str, base_url: str) -> credentials.Verdict:
    """Lark's word on the credentials; a definite no refuses the save (credentials.py)."""
    verdict = credentials.ask_lark(app_id, app_secret, base_url)
    if verdict.accepted is False:
        raise IntegrationInvalid({"app_secret": verdict.words})
    return verdict


def _unanswered(verdict: credentials.Verdict) -> list[str]:
    return [credentials.not_reached_warning(verdict)] if verdict.accepted is None else []


def _replace_callback_secrets(integration: LarkIntegration, clean: IntegrationInput) -> bool:
    changed = False
    if clean.verification_token and clean.verification_token != integration.verification_token:
        integration.verification_token = clean.verification_token
        changed = True
    if clean.encrypt_key and clean.encrypt_key != integration.encrypt_key:
        integration.encrypt_key = clean.encrypt_key
        changed = True
    elif clean.remove_encrypt_key and integration.encrypt_key_sealed:
        integration.encrypt_key = None
        changed = True
    return changed


def _apply_platform(integration: LarkIntegration, clean: IntegrationInput) -> None:
    """The Open API base is the platform's default unless the admin typed another (the sandbox).

    The OAuth authorize host follows: the platform's accounts host for the default Open
    API, or the custom base itself (the sandbox serves both under /_lark).
    """
    platform = Platform(clean.platform)
    api_default, accounts_default = default_bases(platform)
    integration.platform = platform
    integration.edition = Edition(clean.edition)
    base = clean.api_base_url or api_default
    integration.api_base_url = base
    integration.accounts_base_url = accounts_default if base == api_default else base


def set_enabled(integration: LarkIntegration, enabled: bool) -> None:
    """A disabled integration's URLs answer 404 and nothing is sent through it."""
    integration.enabled = enabled
    db.session.commit()


def delete_integration(integration: LarkIntegration) -> None:
    """Remove the integration and what only it needs; incidents and their timelines stay.

    Rows are deleted explicitly (children first) rather than by ON DELETE CASCADE,
    because SQLite leaves foreign-key enforcement off.
    """
    iid = integration.id
    children = (
        Delivery,
        CardMessage,
        CallbackReceipt,
        LarkBinding,
        DispatchRule,
        WarRoom,
        ApiUsage,
        LarkApiEvent,
    )
    for model in children:
        db.session.execute(delete(model).where(model.integration_id == iid))
    db.session.execute(delete(LarkIntegration).where(LarkIntegration.id == iid))
    db.session.commit()


def check_credentials(integration: LarkIntegration) -> CredentialCheck:
    """Ask Lark for a tenant token with the stored App ID and App Secret.

    Records the outcome on the integration (token_ok_at / token_error): it is the
    evidence behind the first steps of the setup checklist.
    """
    try:
        fresh_tenant_token(integration)
    except LarkError as error:
        message = lark_error_words(error)
        integration.token_error = message[:500]
        db.session.commit()
        return CredentialCheck(False, message, error.code, error.reason)
    except VaultError:
        message = _("The stored App Secret cannot be decrypted with DATA_KEY. Enter it again.")
        return CredentialCheck(False, message)
    integration.token_ok_at = utcnow()
    integration.token_error = None
    db.session.commit()
    return CredentialCheck(True, _("Lark accepted the App ID and App Secret."))


def fresh_tenant_token(integration: LarkIntegration) -> str:
    """A tenant token asked of Lark now, never the cached one.

    A test must reach Lark: a secret reset in the developer console leaves the cached
    token valid for up to two hours. The client's cache key is private, hence getattr.
    """
    client = LarkClient.for_integration(integration)
    token_cache.drop(getattr(client, "_cache_key", ("", "", "")))
    return client.tenant_token()


def lark_error_words(error: Exception) -> str:
    """Lark's answer and what to do about it, in one sentence for people."""
    code = getattr(error, "code", 0)
    msg = getattr(error, "msg", "") or str(error)
    reason = getattr(error, "reason", "server")
    if code:
        said = _("Lark answered %(code)s: %(msg)s.", code=code, msg=msg)
    else:
        said = _("Lark could not be reached: %(msg)s.", msg=msg)
    return f"{said} {fix(reason)}"


def of_account(account_id: int) -> list[LarkIntegration]:
    stmt = (
        select(LarkIntegration)
        .where(LarkIntegration.account_id == account_id)
        .order_by(LarkIntegration.id)
    )
    return list(db.session.scalars(stmt))
