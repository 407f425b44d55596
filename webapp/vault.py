"""Secrets at rest: Lark App Secrets, Verification Tokens, Encrypt Keys and user tokens.

`DATA_KEY` holds one or more Fernet keys, comma-separated, newest first. Encryption uses
the newest; decryption tries each, so a key can be rotated without downtime
(`flask secrets rotate`, see README.md).
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class VaultError(RuntimeError):
    pass


def _fernet(data_key: str | None = None) -> MultiFernet:
    raw = data_key if data_key is not None else current_app.config["DATA_KEY"]
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except ValueError as exc:
        raise VaultError(
            "DATA_KEY must be Fernet keys (32 url-safe base64 bytes), comma-separated"
        ) from exc


def seal(plaintext: str, data_key: str | None = None) -> str:
    return _fernet(data_key).encrypt(plaintext.encode()).decode()


def unseal(token: str, data_key: str | None = None) -> str:
    try:
        return _fernet(data_key).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise VaultError("a stored secret cannot be decrypted with DATA_KEY") from exc


def unseal_fresh(token: str, max_age: int) -> str:
    """Like unseal, but only for a token sealed in the last `max_age` seconds."""
    try:
        return _fernet().decrypt(token.encode(), ttl=max_age).decode()
    except InvalidToken as exc:
        raise VaultError("the sealed value is too old or not ours") from exc


def reseal(token: str, data_key: str | None = None) -> str:
    """Re-encrypt under the newest key (for rotation)."""
    return _fernet(data_key).rotate(token.encode()).decode()


def new_key() -> str:
    return Fernet.generate_key().decode()
