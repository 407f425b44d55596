"""Access tokens the sandbox issues: self-contained and signed, so they outlive a reset.

The product caches tenant tokens per app_id across tests; a token stays valid until its
expiry whatever happens to the in-memory state, as a real Lark token would.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from webapp.sandbox import decisions

_KEY = secrets.token_bytes(32)  # per process: a restarted sandbox forgets its tokens
PREFIX = {"tenant": "t-", "app": "a-", "user": "u-", "refresh": "ur-"}


@dataclass(frozen=True)
class Token:
    kind: str
    app_id: str
    issued_at: float
    open_id: str = ""
    scope: str = ""
    nonce: str = ""

    @property
    def expires_at(self) -> float:
        if self.kind == "refresh":
            return self.issued_at + decisions.REFRESH_TOKEN_LIFETIME_S
        if self.kind == "user":
            return self.issued_at + decisions.USER_TOKEN_LIFETIME_S
        return self.issued_at + decisions.TOKEN_LIFETIME_S


def mint(token: Token) -> str:
    payload = json.dumps(token.__dict__, separators=(",", ":")).encode()
    body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return PREFIX[token.kind] + body + "." + _sign(body)


def parse(raw: str, kind: str, now: float) -> Token | None:
    """The token if it is ours, of this kind and not expired; else None."""
    prefix = PREFIX[kind]
    if not raw.startswith(prefix) or "." not in raw:
        return None
    body, _, signature = raw[len(prefix) :].rpartition(".")
    if not hmac.compare_digest(signature, _sign(body)):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        token = Token(**data)
    except (ValueError, TypeError):
        return None
    if token.kind != kind or now >= token.expires_at:
        return None
    return token


def _sign(body: str) -> str:
    return hmac.new(_KEY, body.encode(), hashlib.sha256).hexdigest()[:32]
