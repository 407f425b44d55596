"""Which capability answers a press on one of our cards, read from the button's value:
"I'll cover" on a cover request card goes to schedules (webapp/schedules/cover.py), every
other button to the incident card's press (press.py, answered in time by late.py). The
answer is shaped for the channel the press came on.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app

from webapp.cardkit.answer import Answer
from webapp.cards import answers as card_answers
from webapp.cards import late as card_late
from webapp.cards import press as card_press
from webapp.extensions import db
from webapp.lark.callbacks import Callback, Channel
from webapp.models import LarkIntegration
from webapp.schedules import cover

log = logging.getLogger(__name__)


def respond(
    integration: LarkIntegration, cb: Callback, request_id: str, arrived: float
) -> dict[str, Any]:
    """The body to answer Lark with: a toast, and the card redrawn when it changed."""
    if cover.is_press(cb.value):  # "I'll cover" on a cover request card
        return _format(cb.channel, _cover_answer(integration, cb, request_id))
    return _format(cb.channel, _incident_answer(integration, cb, request_id, arrived))


def _incident_answer(
    integration: LarkIntegration, cb: Callback, request_id: str, arrived: float
) -> Answer:
    db.session.rollback()  # the press runs on its own connection; give this one back
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def press(handoff: card_late.Handoff) -> Answer:
        return card_press.handle(integration, cb, request_id, handoff)

    return card_late.answer_in_time(app, arrived, press, integration)


def _cover_answer(integration: LarkIntegration, cb: Callback, request_id: str) -> Answer:
    try:
        answer = cover.press(integration, cb.open_id, cb.message_id, cb.value)
    except Exception:
        db.session.rollback()
        log.exception("card callback %s (cover) failed", request_id)
        answer = card_answers.error_answer(integration, request_id)
    log.info("card callback %s: %s cover -> %s", request_id, cb.channel, answer.outcome)
    return answer


def _format(channel: Channel, answer: Answer) -> dict[str, Any]:
    """New channel: {"toast", "card": {"type": "raw", "data"}}; old: the card itself + toast."""
    if channel is Channel.V2:
        out: dict[str, Any] = {"toast": answer.toast}
        if answer.card is not None:
            out["card"] = {"type": "raw", "data": answer.card}
        return out
    return {**(answer.card or {}), "toast": answer.toast}
