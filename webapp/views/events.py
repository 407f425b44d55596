"""The event request URL `/lark/<key>/events`: Lark posts the bot's chat events and messages.

The same checks as the card request URL, in one place (webapp/lark/callbacks.py): decrypt
with the Encrypt Key, answer url_verification with the challenge after the Verification
Token check, then the signature (SHA-256 over timestamp, nonce, Encrypt Key and the raw
body) and the token in `header.token`. Only schema 2.0 events are subscribed (Lark's
console offers 2.0 for every event we use). Lark wants a 200 within 3 s or it sends the
event again.
"""

from __future__ import annotations

import logging
import uuid

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from webapp.extensions import csrf, db
from webapp.inbound import events as inbound
from webapp.lark import callbacks
from webapp.lark.callbacks import Malformed, Refused

bp = Blueprint("lark_events", __name__)
log = logging.getLogger(__name__)


@bp.post("/lark/<key>/events")
@csrf.exempt
def events(key: str) -> ResponseReturnValue:
    request_id = uuid.uuid4().hex[:12]
    raw = request.get_data(cache=False)
    try:
        verified = callbacks.open_and_verify(key, raw, request.headers)
    except Malformed:
        log.warning("event %s refused: malformed JSON (key %s)", request_id, key[:8])
        return jsonify(error="invalid_json", request_id=request_id), 400
    except Refused as refused:
        log.warning("event %s refused (%s): %s", request_id, key[:8], refused)
        return jsonify(error="refused", request_id=request_id), refused.status
    integration = verified.integration
    if verified.challenge is not None:
        inbound.verified(integration)
        return jsonify(challenge=verified.challenge)
    header, event = verified.header or {}, verified.event or {}
    try:
        outcome = inbound.receive(integration, header, event)
    except Exception:
        # A 500 makes Lark send the event again later, which is what we want.
        db.session.rollback()
        log.exception("event %s failed", request_id)
        return jsonify(error="failed", request_id=request_id), 500
    log.info("event %s: %s -> %s", request_id, header.get("event_type"), outcome)
    return jsonify(msg="success")
