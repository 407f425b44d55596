"""Standard Webhooks signatures (https://www.standardwebhooks.com/, "Signature scheme").

The secret is `whsec_` + base64 key bytes; the signature is `v1,` + base64 of
HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}"). Written here from the
specification; the tests verify it with the `standardwebhooks` library.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

PREFIX = "whsec_"
KEY_BYTES = 32  # the specification asks for 24 to 64 random bytes


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def new_message_id() -> str:
    """The `webhook-id`: one per event, the same on every retry of it."""
    return "msg_" + secrets.token_hex(16)


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(secret: str, message_id: str, at: datetime, body: bytes) -> dict[str, str]:
    """The three headers of one attempt; the timestamp is the attempt's, the id the event's."""
    timestamp = int(at.timestamp())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
        "Content-Type": "application/json",
    }
