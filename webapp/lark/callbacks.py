"""Lark's callbacks on the wire: open a body posted to the card or event request URL and
prove it came from Lark for this integration.

`open_and_verify` is the one check both URLs run: decrypt with the Encrypt Key when Lark sent
`encrypt`; answer `url_verification` only after the Verification Token; then, for a schema
2.0 body, the token in `header.token` and the signature (SHA-256 over timestamp, nonce,
Encrypt Key and the raw body) with a freshness window; for the card's old channel
(`card.action.trigger_v1`), the SHA-1 signature with the Verification Token. What a verified
callback asks for is the product's business (webapp/cards/, webapp/inbound/). The rules
and their sources: docs/lark/callbacks.md.
"""

from __future__ import annotations

import enum
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy import inspect as sa_inspect
from werkzeug.datastructures import Headers

from webapp.extensions import db
from webapp.lark import crypto
from webapp.models import LarkIntegration

# Open (docs/lark/callbacks.md#replay-window): Lark documents no replay window; we
# refuse signed requests whose X-Lark-Request-Timestamp is more than 5 minutes off.
REPLAY_WINDOW_S = 300


class Refused(Exception):
    """Not from Lark, or not for this integration: answered with an error status, logged."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


class Malformed(Refused):
    """The body is not a JSON object (or nests too deep to read)."""

    def __init__(self) -> None:
        super().__init__(400, "malformed JSON")


class Channel(enum.StrEnum):
    """The callback channel a press came by (docs/lark/callbacks.md#two-channels)."""

    V2 = "v2"  # card.action.trigger
    V1 = "v1"  # card.action.trigger_v1


@dataclass(frozen=True)
class Callback:
    """A verified button press, from either channel."""

    channel: Channel
    delivery_key: str | None  # header.event_id / X-Refresh-Token: the same delivery again
    open_id: str | None
    message_id: str | None
    tenant_key: str | None
    value: Any


@dataclass(frozen=True)
class Verified:
    """A body that passed every check, and what it asks for."""

    integration: LarkIntegration
    challenge: str | None = None  # url_verification: answer with this, nothing else
    header: dict[str, Any] | None = None  # schema 2.0
    event: dict[str, Any] | None = None  # schema 2.0
    press: Callback | None = None  # a card button press (either channel)


_INTEGRATION = select(LarkIntegration).where(LarkIntegration.key == bindparam("key"))


def integration(key: str) -> LarkIntegration:
    """The enabled integration a callback URL names, as a copy outside the session: the
    commits after it do not expire it, so it is not read again after each (two queries a
    press). Callers write its columns with UPDATEs."""
    found = db.session.execute(_INTEGRATION, {"key": key}).scalar_one_or_none()
    if found is None or not found.enabled:
        raise Refused(404, "unknown or disabled integration")
    copy = LarkIntegration()
    for attr in sa_inspect(LarkIntegration).column_attrs:
        setattr(copy, attr.key, getattr(found, attr.key))
    return copy


def _parse(raw: bytes) -> dict[str, Any]:
    """The posted JSON object; Malformed otherwise."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: deep nesting
        raise Malformed() from None
    if not isinstance(body, dict):
        raise Malformed()
    return body


def open_and_verify(
    key: str, raw: bytes, headers: Headers, *, old_card_channel: bool = False
) -> Verified:
    """Read, decrypt and check one callback to the integration `key` names: Malformed for a
    body that is not a JSON object, Refused when it is not Lark's for this integration. The
    card URL also takes the old channel's presses (`old_card_channel`), the event URL only
    schema 2.0."""
    body = _parse(raw)
    found = integration(key)
    payload = _open(found, body)
    if payload.get("type") == "url_verification":
        _check_token(found, payload.get("token"))
        return Verified(found, challenge=payload.get("challenge"))
    if payload.get("schema") == "2.0":
        return _verify_v2(found, payload, raw, headers)
    if old_card_channel and isinstance(payload.get("action"), dict):
        return Verified(found, press=_verify_v1(found, payload, raw, headers))
    if old_card_channel:
        raise Refused(400, "neither a card.action.trigger nor a card.action.trigger_v1 payload")
    raise Refused(400, "not a schema 2.0 event")


def _open(integration: LarkIntegration, body: dict[str, Any]) -> dict[str, Any]:
    """The plaintext payload: decrypted with the Encrypt Key when Lark sent `encrypt`."""
    if "encrypt" not in body:
        return body
    key = integration.encrypt_key
    if not key:
        raise Refused(401, "encrypted body, but the integration has no Encrypt Key")
    try:
        payload = json.loads(crypto.decrypt(key, str(body["encrypt"])))
    except (crypto.DecryptionError, ValueError, RecursionError) as exc:
        raise Refused(401, "cannot decrypt with the Encrypt Key") from exc
    if not isinstance(payload, dict):
        raise Refused(400, "decrypted payload is not an object")
    return payload


def _verify_v2(
    integration: LarkIntegration, payload: dict[str, Any], raw: bytes, headers: Headers
) -> Verified:
    header = _dict(payload.get("header"))
    _check_token(integration, header.get("token"))
    key = integration.encrypt_key
    if key:
        # Without an Encrypt Key the signature would use an empty key anyone can compute,
        # so it proves nothing; the Verification Token above is the check then (as the SDK).
        _check_signature(crypto.v2_signature, key, raw, headers)
    else:
        _check_fresh(headers.get("X-Lark-Request-Timestamp"), required=False)
    event = _dict(payload.get("event"))
    press = None
    if header.get("event_type") == "card.action.trigger":
        event_id = header.get("event_id")
        press = Callback(
            channel=Channel.V2,
            delivery_key=f"e:{event_id}" if event_id else None,
            open_id=_dict(event.get("operator")).get("open_id"),
            message_id=_dict(event.get("context")).get("open_message_id"),
            tenant_key=header.get("tenant_key"),
            value=_dict(event.get("action")).get("value"),
        )
    return Verified(integration, header=header, event=event, press=press)


def _verify_v1(
    integration: LarkIntegration, payload: dict[str, Any], raw: bytes, headers: Headers
) -> Callback:
    # The old channel signs with the Verification Token and is never encrypted
    # (docs/lark/callbacks.md#signatures).
    _check_signature(crypto.v1_signature, integration.verification_token, raw, headers)
    refresh = headers.get("X-Refresh-Token")
    return Callback(
        channel=Channel.V1,
        delivery_key=f"r:{refresh}" if refresh else None,
        open_id=payload.get("open_id"),
        message_id=payload.get("open_message_id"),
        tenant_key=payload.get("tenant_key"),
        value=_dict(payload.get("action")).get("value"),
    )


def _check_token(integration: LarkIntegration, given: Any) -> None:
    if not isinstance(given, str) or not crypto.signatures_match(
        integration.verification_token, given
    ):
        raise Refused(401, "wrong Verification Token")


Signer = Callable[[str, str, str, bytes], str]


def _check_signature(sign: Signer, secret: str, raw: bytes, headers: Headers) -> None:
    timestamp = headers.get("X-Lark-Request-Timestamp", "")
    nonce = headers.get("X-Lark-Request-Nonce", "")
    _check_fresh(timestamp, required=True)
    expected = sign(timestamp, nonce, secret, raw)
    if not crypto.signatures_match(expected, headers.get("X-Lark-Signature")):
        raise Refused(401, "missing or forged signature")


def _check_fresh(timestamp: str | None, *, required: bool) -> None:
    if not timestamp:
        if required:
            raise Refused(401, "missing X-Lark-Request-Timestamp")
        return
    try:
        sent = float(timestamp)
    except ValueError:
        raise Refused(401, "malformed X-Lark-Request-Timestamp") from None
    if not math.isfinite(sent) or abs(time.time() - sent) > REPLAY_WINDOW_S:
        raise Refused(401, "timestamp outside the replay window")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
