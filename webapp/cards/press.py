"""One card button press, in one transaction: the receipt (inserted first, so a copy of
the press waits for this one and then finds its answer), the change with its timeline event
and outbox rows, and the answer stored for repeats, committed once."""

from __future__ import annotations

import logging

from webapp.cardkit.answer import Answer
from webapp.cards import actions as card_actions
from webapp.cards import answers as card_answers
from webapp.cards import late as card_late
from webapp.cards import receipts as card_receipts
from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.lark.callbacks import Callback
from webapp.models import Delivery, Incident, LarkIntegration

log = logging.getLogger(__name__)


def handle(
    integration: LarkIntegration, cb: Callback, request_id: str, handoff: card_late.Handoff
) -> Answer:
    """One transaction: the receipt, the change with its outbox rows, the answer; one commit."""
    click = card_actions.parse(cb.value)
    keys = card_receipts.keys_for(cb, click)
    late_row: Delivery | None = None
    try:
        with incidents.one_transaction():
            claimed = card_receipts.claim(integration, cb, click, keys)
            if not claimed and card_receipts.release_retryable(integration, keys, cb.delivery_key):
                claimed = card_receipts.claim(integration, cb, click, keys)
            if not claimed:
                first = card_receipts.first_answer(integration, keys, request_id)
                again = card_answers.repeat_answer(
                    integration, cb.open_id, cb.message_id, click, first
                )
                db.session.commit()
                return again
            answer = card_answers.answer(integration, cb.open_id, cb.message_id, click)
            card_receipts.settle(integration, cb, keys, answer)
            if handoff.gave_up():
                late_row = redraw_pressed_card(integration, answer, cb.message_id)
            db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("card callback %s failed", request_id)
        answer = card_answers.error_answer(integration, request_id)
        card_receipts.settle_failed(integration, cb, click, keys, answer, request_id)
    if not handoff.deliver(answer) and late_row is None:
        _redraw_late(integration, answer, cb.message_id, request_id)
    action = f"{click.action.value} {click.incident_id}" if click else "unknown"
    log.info("card callback %s: %s %s -> %s", request_id, cb.channel, action, answer.outcome)
    return answer


def redraw_pressed_card(
    integration: LarkIntegration, answer: Answer, message_id: str | None
) -> Delivery | None:
    """The answer's card never reached Lark: the outbox redraws the pressed card instead."""
    if answer.card is None or answer.incident_id is None:
        return None
    incident = db.session.get(Incident, answer.incident_id)
    if incident is None:
        return None
    return card_late.pressed_card_row(integration, incident, message_id)


def _redraw_late(
    integration: LarkIntegration, answer: Answer, message_id: str | None, request_id: str
) -> None:
    try:
        if redraw_pressed_card(integration, answer, message_id) is not None:
            db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("card callback %s: could not queue the card's redraw", request_id)
