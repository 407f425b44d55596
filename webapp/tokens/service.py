"""Bearer tokens of the REST API: made, revoked, and checked on every API request.

A token reads `oncall_<prefix>_<secret>`: the 8-character prefix finds the row (and is what
lists show), and only the SHA-256 of the whole token is stored. SHA-256 rather than a slow
password hash is right here because the secret is 256 random bits, not something a person
chose: there is nothing to guess from a leaked hash.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from datetime import UTC, datetime, timedelta

from flask import has_request_context, request
from flask_babel import gettext as _
from limits import parse
from sqlalchemy import or_, select, update

from webapp import ratelimit
from webapp.extensions import db
from webapp.models import Account, ApiToken, Member, TokenScope, utcnow

__all__ = [
    "ApiToken",
    "TokenInvalid",
    "TokenRefused",
    "TokenScope",
    "authenticate",
    "create",
    "revoke",
]

log = logging.getLogger(__name__)

TOKEN_PREFIX = "oncall_"  # noqa: S105 - the public start of every token
_SHAPE = re.compile(r"oncall_([0-9a-f]{8})_[A-Za-z0-9_-]{20,100}")
# Wrong tokens from one client address: enough for a misconfigured script to be noticed,
# far too few to guess 256 bits.
FAILURES_PER_ADDRESS = parse("20/minute")
# The last use is written at most once a minute per token: reading it is not worth a write
# on every request.
LAST_USE_EVERY = timedelta(minutes=1)
NAME_MAX = 80


class TokenRefused(Exception):
    """The request's token does not allow it: `status` is 401 (missing, unknown, revoked or
    expired), 403 (read-only token, write needed) or 429 (too many wrong tokens from this
    address, `retry_after` seconds); `detail` says it to a person."""

    def __init__(self, status: int, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


class TokenInvalid(ValueError):
    """A token cannot be made as asked; `field` names the input that is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def create(
    account_id: int,
    name: str,
    scope: TokenScope,
    expires_at: datetime | None,
    actor: Member | None,
    secret: str | None = None,
) -> tuple[ApiToken, str]:
    """Make a token and return it with its secret, which is never shown again.

    `secret` is only for a token whose secret is derived elsewhere (the demo's)."""
    name = name.strip()
    if not name:
        raise TokenInvalid("name", _("Give the token a name, e.g. the script that uses it."))
    if len(name) > NAME_MAX:
        raise TokenInvalid("name", _("A name can be at most %(n)s characters.", n=NAME_MAX))
    if expires_at is not None and expires_at <= utcnow():
        raise TokenInvalid("expires_at", _("The expiry must be in the future."))
    secret = secret or new_secret()
    match = _SHAPE.fullmatch(secret)
    if match is None:
        raise TokenInvalid("secret", "not a token of this product")
    token = ApiToken(
        account_id=account_id,
        name=name,
        scope=TokenScope(scope),
        prefix=match.group(1),
        secret_hash=_digest(secret),
        created_by=actor,
        expires_at=expires_at,
    )
    db.session.add(token)
    db.session.commit()
    log.info("API token %s (%s) made for account %s", token.prefix, token.scope, account_id)
    return token, secret


def new_secret() -> str:
    return f"{TOKEN_PREFIX}{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"


def revoke(token: ApiToken, actor: Member | None) -> None:
    """End the token at once; the next request carrying it is refused."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
        log.info("API token %s revoked by member %s", token.prefix, actor.id if actor else None)


def of_account(account_id: int) -> list[ApiToken]:
    """The account's tokens, live ones first, newest first."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.account_id == account_id)
            .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())
        )
    )


def find(account_id: int, token_id: int) -> ApiToken | None:
    """The account's token of this id; another account's is as if it did not exist."""
    token = db.session.get(ApiToken, token_id)
    return token if token is not None and token.account_id == account_id else None


def find_by_secret(secret: str) -> ApiToken | None:
    """The token whose secret this is, revoked or not; compared in constant time."""
    match = _SHAPE.fullmatch(secret)
    prefix = match.group(1) if match else ""
    token = db.session.execute(
        select(ApiToken).where(ApiToken.prefix == prefix)
    ).scalar_one_or_none()
    # An unknown prefix still costs one comparison, so timing tells nothing.
    stored = token.secret_hash if token is not None else _digest("no such token")
    if not hmac.compare_digest(stored, _digest(secret)):
        return None
    return token


def authenticate(authorization_header: str | None, need: TokenScope) -> ApiToken:
    """The token an API request carries, if it is live and may do what `need` asks.

    Raises `TokenRefused`; every wrong token counts against the client address."""
    client = _client()
    limiter = ratelimit.limiter()
    if not limiter.test(FAILURES_PER_ADDRESS, "api-token-ip", client):
        raise TokenRefused(
            429, _("Too many wrong tokens from this address. Wait a minute."), retry_after=60
        )
    secret = _bearer(authorization_header)
    token = find_by_secret(secret) if secret else None
    now = utcnow()
    if token is None or not token.is_live(now):
        if secret:
            limiter.hit(FAILURES_PER_ADDRESS, "api-token-ip", client)
        raise TokenRefused(401, _refusal(secret, token))
    if not token.scope.allows(need):
        raise TokenRefused(
            403, _("This token may only read. Use a token with the write scope to change things.")
        )
    _record_use(token, now)
    return token


def _refusal(secret: str, token: ApiToken | None) -> str:
    if not secret:
        return _("Send the header Authorization: Bearer <token>. Admins make tokens on API tokens.")
    if token is None:
        return _("This token is not known. Check it was copied whole, or make a new one.")
    if token.revoked_at is not None:
        return _("This token was revoked. Ask an admin for a new one.")
    return _("This token has expired. Ask an admin for a new one.")


def _bearer(header: str | None) -> str:
    scheme, _sep, value = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return value.strip()


def _record_use(token: ApiToken, now: datetime) -> None:
    """Write the last use once a minute at most; the condition keeps racing requests to one
    write."""
    if token.last_used_at is not None and now - token.last_used_at < LAST_USE_EVERY:
        return
    db.session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token.id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - LAST_USE_EVERY),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _client() -> str:
    return (request.remote_addr or "?") if has_request_context() else "?"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def account_by_ref(ref: str) -> Account | None:
    """An account by its id or its exact name (the CLI's `--account`)."""
    if ref.isdigit():
        found = db.session.get(Account, int(ref))
        if found is not None:
            return found
    return db.session.execute(select(Account).where(Account.name == ref)).scalars().first()


def as_utc(moment: datetime) -> datetime:
    """A moment without an offset is read as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def derived_secret(key: str, purpose: str) -> str:
    """A token secret that is the same whenever `key` is (HMAC-SHA256 of `purpose`): the
    demo's, so every `flask demo load` prints the same working token."""
    digest = hmac.new(key.encode(), purpose.encode(), hashlib.sha256).hexdigest()
    return f"{TOKEN_PREFIX}{digest[:8]}_{digest[8:]}"
