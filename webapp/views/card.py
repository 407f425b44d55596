"""The card request URL `/lark/<key>/card`: Lark posts here when a card button is pressed.

Verify first (decrypt, signature, token, timestamp), then act once (receipts), then answer
within Lark's 3 seconds with a toast and the redrawn card. Nothing here calls Lark: other
copies of the card are updated by the outbox after commit. Any failure after verification
still answers 200 with an error toast, because Lark shows a non-200 as a bare error code.
"""

from __future__ import annotations

import json
import logging
import math
import time
import uuid
from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import bindparam, select
from sqlalchemy import inspect as sa_inspect

from webapp.cards import answers as card_answers
from webapp.cards import late as card_late
from webapp.cards import press as card_press
from webapp.cards import receipts as card_receipts
from webapp.cards.answers import Answer
from webapp.cards.receipts import Callback
from webapp.extensions import csrf, db
from webapp.lark import crypto
from webapp.models import LarkIntegration
from webapp.schedules import cover

bp = Blueprint("card", __name__)
log = logging.getLogger(__name__)

# UNCONFIRMED (callbacks-and-login.md 1.4 item 6): Lark documents no replay window; we
# refuse signed requests whose X-Lark-Request-Timestamp is more than 5 minutes off.
REPLAY_WINDOW_S = 300


class Refused(Exception):
    """Not from Lark, or not for this integration: answered with an error status, logged."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


@bp.post("/lark/<key>/card")
@csrf.exempt
def callback(key: str) -> ResponseReturnValue:
    arrived = time.monotonic()  # the answer is due by then + card_late.ANSWER_BY_S
    request_id = uuid.uuid4().hex[:12]
    raw = request.get_data(cache=False)
    try:
        body = json.loads(raw)
        if not isinstance(body, dict):
            raise ValueError("not an object")
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: deep nesting
        log.warning("card callback %s refused: malformed JSON (key %s)", request_id, key[:8])
        return jsonify(error="invalid_json", request_id=request_id), 400
    try:
        integration = _integration(key)
        payload = _open(integration, body)
        if payload.get("type") == "url_verification":
            return _verify_url(integration, payload)
        pressed = _authenticate(integration, payload, raw)
    except Refused as refused:
        log.warning("card callback %s refused (%s): %s", request_id, key[:8], refused)
        return jsonify(error="refused", request_id=request_id), refused.status
    except Exception:
        # The database or the vault failed before we could tell: still a 200 and a reason,
        # since Lark shows any other status as a bare error code.
        db.session.rollback()
        log.exception("card callback %s failed before verification", request_id)
        return jsonify({"toast": card_answers.error_answer(None, request_id).toast})
    if pressed is None:
        return jsonify({})  # authentic, but not a card action: nothing to do
    if cover.is_press(pressed.value):  # "I'll cover" on a cover request card
        return jsonify(_format(pressed.channel, _cover_answer(integration, pressed, request_id)))
    return jsonify(_format(pressed.channel, _answer(integration, pressed, request_id, arrived)))


@bp.get("/lark/<key>/card/fix/<reason>")
def fix(key: str, reason: str) -> ResponseReturnValue:
    """The page that fixes a refused press; resolved at click time to whichever page exists."""
    number = request.args.get("n", type=int)
    if reason == "no_seat":
        return redirect(url_for("lark_pages.license", key=key))
    if reason != "not_linked" and number:
        return redirect(f"/lark/{key}/incidents/{number}")
    return redirect(f"/lark/{key}/")


# -- verification ----------------------------------------------------------------------


_INTEGRATION = select(LarkIntegration).where(LarkIntegration.key == bindparam("key"))


def _integration(key: str) -> LarkIntegration:
    integration = db.session.execute(_INTEGRATION, {"key": key}).scalar_one_or_none()
    if integration is None or not integration.enabled:
        raise Refused(404, "unknown or disabled integration")
    return _snapshot(integration)


def _snapshot(integration: LarkIntegration) -> LarkIntegration:
    """A copy outside the session: the commits below do not expire it, so it is not read
    again after each (two queries a press). This view writes its columns with UPDATEs."""
    copy = LarkIntegration()
    for attr in sa_inspect(LarkIntegration).column_attrs:
        setattr(copy, attr.key, getattr(integration, attr.key))
    return copy


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


def _verify_url(integration: LarkIntegration, payload: dict[str, Any]) -> ResponseReturnValue:
    _check_token(integration, payload.get("token"))
    card_receipts.url_verified(integration)
    return jsonify(challenge=payload.get("challenge"))


def _authenticate(
    integration: LarkIntegration, payload: dict[str, Any], raw: bytes
) -> Callback | None:
    if payload.get("schema") == "2.0":
        return _authenticate_v2(integration, payload, raw)
    if isinstance(payload.get("action"), dict):
        return _authenticate_v1(integration, payload, raw)
    raise Refused(400, "neither a card.action.trigger nor a card.action.trigger_v1 payload")


def _authenticate_v2(
    integration: LarkIntegration, payload: dict[str, Any], raw: bytes
) -> Callback | None:
    header = _dict(payload.get("header"))
    _check_token(integration, header.get("token"))
    key = integration.encrypt_key
    if key:
        # Without an Encrypt Key the signature would use an empty key anyone can compute,
        # so it proves nothing; the Verification Token above is the check then (as the SDK).
        _check_signature(crypto.v2_signature, key, raw)
    else:
        _check_fresh(request.headers.get("X-Lark-Request-Timestamp"), required=False)
    if header.get("event_type") != "card.action.trigger":
        return None
    event = _dict(payload.get("event"))
    event_id = header.get("event_id")
    return Callback(
        channel="v2",
        delivery_key=f"e:{event_id}" if event_id else None,
        open_id=_dict(event.get("operator")).get("open_id"),
        message_id=_dict(event.get("context")).get("open_message_id"),
        tenant_key=header.get("tenant_key"),
        value=_dict(event.get("action")).get("value"),
    )


def _authenticate_v1(integration: LarkIntegration, payload: dict[str, Any], raw: bytes) -> Callback:
    # The old channel signs with the Verification Token and is never encrypted (D1, D6).
    _check_signature(crypto.v1_signature, integration.verification_token, raw)
    refresh = request.headers.get("X-Refresh-Token")
    return Callback(
        channel="v1",
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


def _check_signature(
    sign: Signer, secret: str, raw: bytes, window: float = REPLAY_WINDOW_S
) -> None:
    timestamp = request.headers.get("X-Lark-Request-Timestamp", "")
    nonce = request.headers.get("X-Lark-Request-Nonce", "")
    _check_fresh(timestamp, required=True, window=window)
    expected = sign(timestamp, nonce, secret, raw)
    if not crypto.signatures_match(expected, request.headers.get("X-Lark-Signature")):
        raise Refused(401, "missing or forged signature")


def _check_fresh(timestamp: str | None, *, required: bool, window: float = REPLAY_WINDOW_S) -> None:
    if not timestamp:
        if required:
            raise Refused(401, "missing X-Lark-Request-Timestamp")
        return
    try:
        sent = float(timestamp)
    except ValueError:
        raise Refused(401, "malformed X-Lark-Request-Timestamp") from None
    if not math.isfinite(sent) or abs(time.time() - sent) > window:
        raise Refused(401, "timestamp outside the replay window")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


# -- acting once -----------------------------------------------------------------------


def _answer(integration: LarkIntegration, cb: Callback, request_id: str, arrived: float) -> Answer:
    db.session.rollback()  # the press runs on its own connection; give this one back
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def press(handoff: card_late.Handoff) -> Answer:
        return card_press.handle(integration, cb, request_id, handoff)

    return card_late.answer_in_time(app, arrived, press, integration)


def _cover_answer(integration: LarkIntegration, cb: Callback, request_id: str) -> Answer:
    try:
        # The old channel's answer carries no card (_format): every copy is redrawn then,
        # the pressed one included.
        pressed = cb.message_id if cb.channel == "v2" else None
        answer = cover.press(integration, cb.open_id, pressed, cb.value)
    except Exception:
        db.session.rollback()
        log.exception("card callback %s (cover) failed", request_id)
        answer = card_answers.error_answer(integration, request_id)
    log.info("card callback %s: %s cover -> %s", request_id, cb.channel, answer.outcome)
    return answer


def _format(channel: str, answer: Answer) -> dict[str, Any]:
    """New channel: {"toast", "card": {"type": "raw", "data"}}; old: the toast alone. The
    old channel's answer documents JSON 1.0 card fields only and our cards are 2.0 (which
    cannot turn into 1.0), so the outbox redraws the pressed card there (cards/press.py)."""
    if channel == "v2":
        out: dict[str, Any] = {"toast": answer.toast}
        if answer.card is not None:
            out["card"] = {"type": "raw", "data": answer.card}
        return out
    return {"toast": answer.toast}
