"""Card-callback encryption and signatures, as Lark documents them.

Encryption (new channel, when an Encrypt Key is set): AES-256-CBC with key
SHA-256(encrypt_key), IV = the first 16 bytes of the base64 payload, PKCS#7 padding.
Signatures are plain SHA hex digests (not HMAC) over timestamp + nonce + secret + raw body:
SHA-256 with the Encrypt Key on the new channel, SHA-1 with the Verification Token on the
old one. See docs/lark/callbacks.md#encryption and #signatures.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_BLOCK = 16


class DecryptionError(ValueError):
    """The payload is not valid base64 / AES-CBC / PKCS#7 / UTF-8 for this key."""


def _key(encrypt_key: str) -> bytes:
    return hashlib.sha256(encrypt_key.encode("utf-8")).digest()


def decrypt(encrypt_key: str, encrypted_b64: str) -> str:
    """The plaintext of an `{"encrypt": ...}` body; strict about padding, unlike the doc samples."""
    try:
        raw = base64.b64decode(encrypted_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecryptionError("not base64") from exc
    if len(raw) < 2 * _BLOCK or len(raw) % _BLOCK:
        raise DecryptionError("bad ciphertext length")
    decryptor = Cipher(algorithms.AES(_key(encrypt_key)), modes.CBC(raw[:_BLOCK])).decryptor()
    padded = decryptor.update(raw[_BLOCK:]) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
        return plain.decode("utf-8")
    except ValueError as exc:  # bad padding, or not UTF-8 (UnicodeDecodeError is a ValueError)
        raise DecryptionError("wrong key or corrupted payload") from exc


def encrypt(encrypt_key: str, plaintext: str, iv: bytes | None = None) -> str:
    """What Lark does before posting; used by tests and the benchmark."""
    iv = iv if iv is not None else os.urandom(_BLOCK)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(_key(encrypt_key)), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + encryptor.update(padded) + encryptor.finalize()).decode("ascii")


def v2_signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    """X-Lark-Signature of the new channel (`card.action.trigger`)."""
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode("utf-8") + body).hexdigest()


def v1_signature(timestamp: str, nonce: str, verification_token: str, body: bytes) -> str:
    """X-Lark-Signature of the old channel (`card.action.trigger_v1`)."""
    data = (timestamp + nonce + verification_token).encode("utf-8") + body
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def signatures_match(expected: str, given: str | None) -> bool:
    """Constant-time comparison; a missing signature never matches."""
    if not given:
        return False
    return hmac.compare_digest(
        expected.encode("ascii", "replace"), given.encode("ascii", "replace")
    )
