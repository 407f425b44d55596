"""Lark's callback encryption and signatures, as the Lark servers produce them.

Written independently of webapp/lark/crypto.py on purpose: the two sides check each other
(and both are checked against the official vector and lark-oapi), so a bug on one side
cannot hide one on the other.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def _key(encrypt_key: str) -> bytes:
    # AES-256 key = SHA-256 of the Encrypt Key text (documented "Encryption principle").
    return hashlib.sha256(encrypt_key.encode("utf-8")).digest()


def encrypt(encrypt_key: str, plaintext: str, iv: bytes | None = None) -> str:
    """base64(IV + AES-256-CBC(PKCS#7(plaintext))) with a random IV, as Lark sends it."""
    iv = iv if iv is not None else os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(_key(encrypt_key)), modes.CBC(iv)).encryptor()
    sealed = encryptor.update(padded) + encryptor.finalize()
    return base64.b64encode(iv + sealed).decode("ascii")


def decrypt(encrypt_key: str, encrypted_b64: str) -> str:
    raw = base64.b64decode(encrypted_b64)
    decryptor = Cipher(algorithms.AES(_key(encrypt_key)), modes.CBC(raw[:16])).decryptor()
    padded = decryptor.update(raw[16:]) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return (unpadder.update(padded) + unpadder.finalize()).decode("utf-8")


def sha256_signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    """New channel (card.action.trigger): sha256(timestamp + nonce + encrypt_key + body)."""
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode("utf-8") + body).hexdigest()


def sha1_signature(timestamp: str, nonce: str, verification_token: str, body: bytes) -> str:
    """Old channel (card.action.trigger_v1): sha1(timestamp + nonce + token + body)."""
    data = (timestamp + nonce + verification_token).encode("utf-8") + body
    return hashlib.sha1(data).hexdigest()  # noqa: S324 - Lark's documented legacy scheme
