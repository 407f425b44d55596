"""The card request URL `/lark/<key>/card`: Lark posts here when a card button is pressed.

Verify first (webapp/lark/callbacks.py: decrypt, token, signature, freshness), then act once
(webapp/cards/route.py routes the press, receipts keep it once), then answer within Lark's 3
seconds with a toast and the redrawn card. Nothing here calls Lark: other copies of the card
are updated by the outbox after commit. Any failure after verification still answers 200
with an error toast, because Lark shows a non-200 as a bare error code.
"""

from __future__ import annotations

import logging
import time
import uuid

from flask import Blueprint, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue

from webapp.cards import answers as card_answers
from webapp.cards import receipts as card_receipts
from webapp.cards import route as card_route
from webapp.extensions import csrf, db
from webapp.lark import callbacks
from webapp.lark.callbacks import Malformed, Refused

bp = Blueprint("card", __name__)
log = logging.getLogger(__name__)


@bp.post("/lark/<key>/card")
@csrf.exempt
def callback(key: str) -> ResponseReturnValue:
    arrived = time.monotonic()  # the answer is due by then + card_late.ANSWER_BY_S
    request_id = uuid.uuid4().hex[:12]
    raw = request.get_data(cache=False)
    try:
        verified = callbacks.open_and_verify(key, raw, request.headers, old_card_channel=True)
    except Malformed:
        log.warning("card callback %s refused: malformed JSON (key %s)", request_id, key[:8])
        return jsonify(error="invalid_json", request_id=request_id), 400
    except Refused as refused:
        log.warning("card callback %s refused (%s): %s", request_id, key[:8], refused)
        return jsonify(error="refused", request_id=request_id), refused.status
    except Exception:
        # The database or the vault failed before we could tell: still a 200 and a reason,
        # since Lark shows any other status as a bare error code.
        db.session.rollback()
        log.exception("card callback %s failed before verification", request_id)
        return jsonify({"toast": card_answers.error_answer(None, request_id).toast})
    integration = verified.integration
    if verified.challenge is not None:
        card_receipts.url_verified(integration)
        return jsonify(challenge=verified.challenge)
    if verified.press is None:
        return jsonify({})  # authentic, but not a card action: nothing to do
    return jsonify(card_route.respond(integration, verified.press, request_id, arrived))


@bp.get("/lark/<key>/card/fix/<reason>")
def fix(key: str, reason: str) -> ResponseReturnValue:
    """The page that fixes a refused press; resolved at click time to whichever page exists."""
    number = request.args.get("n", type=int)
    if reason == "no_seat":
        return redirect(url_for("lark_pages.license", key=key))
    if reason != "not_linked" and number:
        return redirect(f"/lark/{key}/incidents/{number}")
    return redirect(f"/lark/{key}/")
