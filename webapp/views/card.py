"""The card request URL `/lark/<key>/card`: Lark posts here when a card button is pressed.

Verify first (decrypt, signature, token, timestamp), then act once (receipts), then answer
within Lark's 3 seconds with a toast and the redrawn card. Nothing here calls Lark: other
copies of the card are updated by the outbox after commit. Any failure after verification
still answers 200 with an error toast, because Lark shows a non-200 as a bare error code.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import delete, select, text, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError

from webapp import card_actions, card_answers
from webapp.card_actions import CardAction
from webapp.card_answers import Answer
from webapp.extensions import csrf, db
from webapp.lark import crypto
from webapp.models import CallbackReceipt, LarkIntegration, utcnow

bp = Blueprint("card", __name__)
log = logging.getLogger(__name__)

# UNCONFIRMED (callbacks-and-login.md 1.4 item 6): Lark documents no replay window; we
# refuse signed requests whose X-Lark-Request-Timestamp is more than 5 minutes off.
REPLAY_WINDOW_S = 300
# A repeat that arrives while the first copy is still being handled waits this long for
# the first answer (well inside Lark's 3 s) before answering "already being handled".
REPEAT_WAIT_S = 2.0
# Writing last_callback_at on every click would make one hot row; minute precision will do.
EVIDENCE_EVERY = timedelta(seconds=60)
# A refused press (not linked, no seat...) older than this is a new press, not a copy.
RETRY_AFTER = timedelta(seconds=10)
# Receipts only need to outlive repeats (seconds to minutes); about one press in a hundred
# clears those older than this, so the table stays small without a scheduled job.
RECEIPT_TTL = timedelta(days=2)
PRUNE_EVERY = 100


class Refused(Exception):
    """Not from Lark, or not for this integration: answered with an error status, logged."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


@dataclass(frozen=True)
class Callback:
    """A verified button press, from either channel."""

    channel: str  # "v2" (card.action.trigger) or "v1" (card.action.trigger_v1)
    delivery_key: str | None  # header.event_id / X-Refresh-Token: the same delivery again
    open_id: str | None
    message_id: str | None
    tenant_key: str | None
    value: Any


@bp.post("/lark/<key>/card")
@csrf.exempt
def callback(key: str) -> ResponseReturnValue:
    request_id = uuid.uuid4().hex[:12]
    raw = request.get_data(cache=False)
    try:
        body = json.loads(raw)
        if not isinstance(body, dict):
            raise ValueError("not an object")
    except (ValueError, UnicodeDecodeError):
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
    return jsonify(_format(pressed.channel, _answer(integration, pressed, request_id)))


@bp.get("/lark/<key>/card/fix/<reason>")
def fix(key: str, reason: str) -> ResponseReturnValue:
    """The page that fixes a refused press; resolved at click time to whichever page exists."""
    number = request.args.get("n", type=int)
    if reason == "no_seat":
        for endpoint in ("lark_license.page", "admin.license"):
            if endpoint in current_app.view_functions:
                values: dict[str, Any] = {}
                if current_app.url_map.is_endpoint_expecting(endpoint, "key"):
                    values["key"] = key
                return redirect(url_for(endpoint, **values))
    if reason != "not_linked" and number:
        return redirect(f"/lark/{key}/incidents/{number}")
    return redirect(f"/lark/{key}/")


# -- verification ----------------------------------------------------------------------


def _integration(key: str) -> LarkIntegration:
    integration = db.session.execute(
        select(LarkIntegration).where(LarkIntegration.key == key)
    ).scalar_one_or_none()
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
    except (crypto.DecryptionError, ValueError) as exc:
        raise Refused(401, "cannot decrypt with the Encrypt Key") from exc
    if not isinstance(payload, dict):
        raise Refused(400, "decrypted payload is not an object")
    return payload


def _verify_url(integration: LarkIntegration, payload: dict[str, Any]) -> ResponseReturnValue:
    _check_token(integration, payload.get("token"))
    _record(integration, url_verified_at=utcnow())
    db.session.commit()
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


def _check_signature(sign: Signer, secret: str, raw: bytes) -> None:
    timestamp = request.headers.get("X-Lark-Request-Timestamp", "")
    nonce = request.headers.get("X-Lark-Request-Nonce", "")
    _check_fresh(timestamp, required=True)
    expected = sign(timestamp, nonce, secret, raw)
    if not crypto.signatures_match(expected, request.headers.get("X-Lark-Signature")):
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


# -- acting once -----------------------------------------------------------------------


def _answer(integration: LarkIntegration, cb: Callback, request_id: str) -> Answer:
    click = card_actions.parse(cb.value)
    keys = _receipt_keys(cb, click)
    try:
        claimed = _claim(integration, cb, click, keys)
        if not claimed and _release_retryable(integration, keys, cb.delivery_key):
            claimed = _claim(integration, cb, click, keys)
        if not claimed:
            return _first_answer(integration, keys, request_id)
        with _kept_after_commit():
            answer = card_answers.answer(integration, cb.open_id, cb.message_id, click)
    except Exception:
        db.session.rollback()
        log.exception("card callback %s failed", request_id)
        answer = card_answers.error_answer(integration, request_id)
    _settle(integration, keys, answer, request_id)
    action = f"{click.action.value} {click.incident_id}" if click else "unknown"
    log.info("card callback %s: %s %s -> %s", request_id, cb.channel, action, answer.outcome)
    return answer


@contextmanager
def _kept_after_commit() -> Iterator[None]:
    """Draw the answer's card from the objects the verb just committed instead of reading
    them all again (three queries a press). Safe here: nothing else writes them in between
    but the verb itself, whose row lock and version check run on fresh reads."""
    session = db.session()
    before = session.expire_on_commit
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = before


def _receipt_keys(cb: Callback, click: card_actions.Click | None) -> list[str]:
    """The delivery's own key, plus one for the press itself: Lark's two channels deliver
    one press twice with different ids, but the same operator, message and value."""
    keys = [cb.delivery_key] if cb.delivery_key else []
    if click is not None and click.action is not CardAction.REFRESH and cb.open_id:
        value = json.dumps(click.value(), sort_keys=True)
        press = f"{cb.open_id}|{cb.message_id}|{value}"
        keys.append("p:" + hashlib.sha256(press.encode()).hexdigest()[:40])
    return [k[:128] for k in keys]


def _claim(
    integration: LarkIntegration,
    cb: Callback,
    click: card_actions.Click | None,
    keys: list[str],
) -> bool:
    """Record the press before acting; False when another copy of it got there first."""
    now = utcnow()
    _without_fsync()
    seen = integration.last_callback_at
    if seen is None or now - seen > EVIDENCE_EVERY:
        _record(integration, last_callback_at=now)
    if cb.tenant_key and integration.tenant_key != cb.tenant_key:
        _record(integration, tenant_key=cb.tenant_key[:64])
    for key in keys:
        db.session.add(
            CallbackReceipt(
                integration_id=integration.id,
                dedupe_key=key,
                operator_open_id=(cb.open_id or "")[:64] or None,
                action=click.action.value if click else None,
                outcome="pending",
            )
        )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def _first_answer(integration: LarkIntegration, keys: list[str], request_id: str) -> Answer:
    """The answer given to the first copy of this press, waiting briefly if it is in flight."""
    deadline = time.monotonic() + REPEAT_WAIT_S
    while True:
        receipt = db.session.execute(
            select(CallbackReceipt)
            .where(CallbackReceipt.integration_id == integration.id)
            .where(CallbackReceipt.dedupe_key.in_(keys))
            .where(CallbackReceipt.answer.is_not(None))
            .limit(1)
        ).scalar_one_or_none()
        db.session.rollback()  # end the read so the next poll sees new commits
        if receipt is not None and receipt.answer is not None:
            log.info("card callback %s is a repeat; answered as before", request_id)
            return Answer.from_json(receipt.answer)
        if time.monotonic() > deadline:
            return card_answers.in_flight_answer(integration)
        time.sleep(0.05)


def _release_retryable(
    integration: LarkIntegration, keys: list[str], delivery_key: str | None
) -> bool:
    """A press refused for a reason the person can fix (not linked, no seat) or left
    pending by a crash may be pressed again; a copy of the same delivery may not. Copies of
    one press arrive within a second, so an older refusal is a new press."""
    existing = (
        db.session.execute(
            select(CallbackReceipt)
            .where(CallbackReceipt.integration_id == integration.id)
            .where(CallbackReceipt.dedupe_key.in_(keys))
        )
        .scalars()
        .all()
    )
    old = utcnow() - RETRY_AFTER
    if any(r.dedupe_key == delivery_key for r in existing) or not existing:
        db.session.rollback()
        return False
    stale = [
        r.id
        for r in existing
        if r.created_at < old and r.outcome in card_answers.RETRYABLE_OUTCOMES | {"pending"}
    ]
    if stale:
        db.session.execute(delete(CallbackReceipt).where(CallbackReceipt.id.in_(stale)))
    db.session.commit()
    return bool(stale)


def _settle(integration: LarkIntegration, keys: list[str], answer: Answer, request_id: str) -> None:
    """Store the answer on the receipts, for repeats of this press."""
    try:
        _without_fsync()
        db.session.execute(
            update(CallbackReceipt)
            .where(CallbackReceipt.integration_id == integration.id)
            .where(CallbackReceipt.dedupe_key.in_(keys))
            .values(outcome=answer.outcome, answer=answer.to_json(), incident_id=answer.incident_id)
        )
        if secrets.randbelow(PRUNE_EVERY) == 0:
            db.session.execute(
                delete(CallbackReceipt).where(CallbackReceipt.created_at < utcnow() - RECEIPT_TTL)
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("card callback %s: could not store the answer", request_id)


def _record(integration: LarkIntegration, **values: Any) -> None:
    """Evidence on the (detached) integration, in the current transaction."""
    db.session.execute(
        update(LarkIntegration).where(LarkIntegration.id == integration.id).values(**values)
    )


def _without_fsync() -> None:
    """Receipts are a memory of answers, not the record of the change: the incident's own
    transaction (its version check) is what makes a press act once. So their commits need
    not wait for the disk, which saves two fsyncs per press on PostgreSQL."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def _format(channel: str, answer: Answer) -> dict[str, Any]:
    """New channel: {"toast", "card": {"type": "raw", "data"}}; old: the card itself + toast."""
    if channel == "v2":
        out: dict[str, Any] = {"toast": answer.toast}
        if answer.card is not None:
            out["card"] = {"type": "raw", "data": answer.card}
        return out
    return {**(answer.card or {}), "toast": answer.toast}
