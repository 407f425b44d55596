"""Never late for Lark: a press is answered within its budget, or told it is being applied.

Lark waits 3 s for the answer to a button press, then shows the person an error (200341).
The press runs on a small pool of threads while the request thread waits for it until its
deadline, counted from when the request arrived. A press that is still running then (it
waits for a row another request holds, or the database is slow) is answered with a toast
that the action is being applied; it finishes on its own and the card it was pressed on is
brought up to date through the outbox (an `update_card` row, PATCHed by the worker), like
every other copy of the card.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from flask import Flask
from flask_babel import gettext as _

from webapp import outbox
from webapp.cardkit.answer import Answer, Outcome, Tone, platform_locale, toast
from webapp.models import CardMessage, Delivery, DeliveryKind, Incident, LarkIntegration

# Lark gives up after 3 s. The clock starts when the handler does, after the server's own
# queue, and the answer still has to travel: 2 s from there is 2.5 s from Lark at the latest
# on a server that keeps its queue under half a second.
ANSWER_BY_S = 2.0
# Presses run at once per process: enough to overlap database waits, few enough that a
# burst queues here instead of exhausting the connection pool.
PRESS_THREADS = 8

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


class Handoff:
    """Between the request thread, which must answer by a deadline, and the press."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._gave_up = False
        self._answer: Answer | None = None

    def gave_up(self) -> bool:
        with self._lock:
            return self._gave_up

    def deliver(self, answer: Answer) -> bool:
        """Hand the answer over; False when the request already answered without it."""
        with self._lock:
            if self._gave_up:
                return False
            self._answer = answer
        self._done.set()
        return True

    def wait(self, timeout: float) -> Answer | None:
        self._done.wait(max(0.0, timeout))
        with self._lock:
            if self._answer is None:
                self._gave_up = True
            return self._answer


Press = Callable[[Handoff], Answer]


def answer_in_time(
    app: Flask, arrived: float, press: Press, integration: LarkIntegration
) -> Answer:
    """Run `press` on the pool and wait for it until `arrived` + the budget."""
    budget = float(app.config.get("CARD_ANSWER_BY_S", ANSWER_BY_S))
    handoff = Handoff()
    _executor(app).submit(_run, app, press, handoff)
    answer = handoff.wait(arrived + budget - time.monotonic())
    return answer if answer is not None else being_applied(integration)


def being_applied(integration: LarkIntegration) -> Answer:
    text = lambda: _("Your press is being applied; the card updates in a moment.")  # noqa: E731
    return Answer(
        toast=toast(Tone.INFO, text, platform_locale(integration)), card=None, outcome=Outcome.LATE
    )


def pressed_card_row(
    integration: LarkIntegration, incident: Incident, message_id: str | None
) -> Delivery | None:
    """An outbox row that redraws the card the press came from, when we sent that card."""
    card = next(
        (
            c
            for c in incident.card_messages
            if c.integration_id == integration.id and c.message_id == message_id
        ),
        None,
    )
    if card is None:
        return None
    return update_row(card)


def update_row(card: CardMessage) -> Delivery:
    return outbox.enqueue(
        DeliveryKind.UPDATE_CARD,
        card.integration_id,
        f"late-{card.id}-{time.time_ns()}",
        incident_id=card.incident_id,
        receive_id_type=card.receive_id_type,
        receive_id=card.receive_id,
        card_message_id=card.id,
        message_id=card.message_id,
    )


def wait_idle(timeout: float = 10.0) -> None:
    """Wait for the presses still running (tests, and the process on its way out)."""
    deadline = time.monotonic() + timeout
    while _running and time.monotonic() < deadline:
        time.sleep(0.01)


_running: set[int] = set()


def _run(app: Flask, press: Press, handoff: Handoff) -> None:
    key = id(handoff)
    _running.add(key)
    try:
        with app.app_context():
            answer = press(handoff)
            handoff.deliver(answer)
    finally:
        _running.discard(key)


def _executor(app: Flask) -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            size = int(app.config.get("CARD_PRESS_THREADS", PRESS_THREADS))
            _pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="card-press")
        return _pool
