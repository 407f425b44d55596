"""Each button press acts once: receipts keyed by the delivery (event_id / X-Refresh-Token)
and by the press itself (operator, message, button value with its version).

A receipt is inserted first in the press's one transaction and holds the answer when it
commits, so a repeat (Lark's two channels, a network retry, a double tap) gets the first
answer back.
The incident's own version check is what guarantees a change happens once; receipts make
the second copy answer the same instead of "already acknowledged by you".
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update

from webapp.cardkit.answer import RETRYABLE, Answer, Outcome
from webapp.cards import answers as card_answers
from webapp.cards.actions import CardAction, Click
from webapp.extensions import db
from webapp.lark.callbacks import Callback
from webapp.models import CallbackReceipt, LarkIntegration, dialect_insert, utcnow

log = logging.getLogger(__name__)

# A repeat that arrives while the first copy is still being handled waits this long for
# the first answer (well inside Lark's 3 s) before answering "already being handled".
REPEAT_WAIT_S = 2.0
# Writing last_callback_at on every click would make one hot row; minute precision will do.
EVIDENCE_EVERY = timedelta(seconds=60)
# A refused press (not linked, no seat...) older than this is a new press, not a copy:
# both channels deliver their copies of one press at the same moment, while a person who
# fixed the cause (linked, got a seat) takes longer than this to press again.
RETRY_AFTER = timedelta(seconds=3)
# Receipts only need to outlive repeats (seconds to minutes); about one press in a hundred
# clears those older than this, so the table stays small without a scheduled job.
RECEIPT_TTL = timedelta(days=2)
PRUNE_EVERY = 100


def keys_for(cb: Callback, click: Click | None) -> list[str]:
    """The delivery's own key, plus one for the press itself: Lark's two channels deliver
    one press twice with different ids, but the same operator, message and value."""
    keys = [cb.delivery_key] if cb.delivery_key else []
    if click is not None and click.action is not CardAction.REFRESH and cb.open_id:
        value = json.dumps(click.value(), sort_keys=True)
        press = f"{cb.open_id}|{cb.message_id}|{value}"
        keys.append("p:" + hashlib.sha256(press.encode()).hexdigest()[:40])
    return [k[:128] for k in keys]


def claim(
    integration: LarkIntegration,
    cb: Callback,
    click: Click | None,
    keys: list[str],
) -> bool:
    """Record the press before acting, in the press's own transaction; False when another
    copy of it got there first. A copy arriving while the first is still being handled waits
    on the unique index (PostgreSQL) or the write lock (SQLite) until that one commits,
    then finds it: the answer is committed with the receipt."""
    rows = [
        {
            "integration_id": integration.id,
            "dedupe_key": key,
            "operator_open_id": (cb.open_id or "")[:64] or None,
            "action": click.action.value if click else None,
            "outcome": Outcome.PENDING,
            "created_at": utcnow(),
        }
        for key in keys
    ]
    if not rows:
        return True
    stmt = dialect_insert(CallbackReceipt).values(rows)
    stmt = stmt.on_conflict_do_nothing(index_elements=["integration_id", "dedupe_key"])
    inserted = db.session.execute(stmt.returning(CallbackReceipt.dedupe_key)).all()
    if len(inserted) == len(rows):
        return True
    db.session.rollback()  # a copy: undo the keys this one did insert
    return False


def first_answer(integration: LarkIntegration, keys: list[str], request_id: str) -> Answer:
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


def release_retryable(
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
        r.id for r in existing if r.created_at < old and r.outcome in RETRYABLE | {Outcome.PENDING}
    ]
    if stale:
        db.session.execute(delete(CallbackReceipt).where(CallbackReceipt.id.in_(stale)))
    db.session.commit()
    return bool(stale)


def settle(integration: LarkIntegration, cb: Callback, keys: list[str], answer: Answer) -> None:
    """Store the answer on the receipts, for repeats of this press, in the press's
    transaction (the caller commits).

    A refusal the person can fix (not linked, no seat) changed nothing, so it is kept only
    under the delivery's own key: the next press of the same button, once they have linked
    their account, is judged afresh however soon it comes.
    """
    if answer.outcome in RETRYABLE:
        press_keys = [k for k in keys if k.startswith("p:")]
        db.session.execute(
            delete(CallbackReceipt)
            .where(CallbackReceipt.integration_id == integration.id)
            .where(CallbackReceipt.dedupe_key.in_(press_keys))
        )
        keys = [k for k in keys if not k.startswith("p:")]
    if keys:
        db.session.execute(
            update(CallbackReceipt)
            .where(CallbackReceipt.integration_id == integration.id)
            .where(CallbackReceipt.dedupe_key.in_(keys))
            .values(outcome=answer.outcome, answer=answer.to_json(), incident_id=answer.incident_id)
            .execution_options(synchronize_session=False)  # no receipt is loaded as an object
        )
    if _prune_now():
        db.session.execute(
            delete(CallbackReceipt).where(CallbackReceipt.created_at < utcnow() - RECEIPT_TTL)
        )
    _evidence(integration, cb)


def _prune_now() -> bool:
    """One press in PRUNE_EVERY, at random, also clears receipts older than RECEIPT_TTL."""
    return secrets.randbelow(PRUNE_EVERY) == 0


def settle_failed(
    integration: LarkIntegration,
    cb: Callback,
    click: Click | None,
    keys: list[str],
    answer: Answer,
    request_id: str,
) -> None:
    """After a failure rolled the press back: keep the error answer under the delivery's
    own key (an error is retryable, so the press itself is not remembered)."""
    try:
        delivery = [k for k in keys if not k.startswith("p:")]
        if claim(integration, cb, click, delivery):
            settle(integration, cb, delivery, answer)
            db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("card callback %s: could not store the answer", request_id)


def _evidence(integration: LarkIntegration, cb: Callback) -> None:
    """The setup checklist's evidence: the tenant and, to the minute, the last callback.
    Last in the transaction, so the integration's row is locked only for the commit."""
    now = utcnow()
    values: dict[str, Any] = {}
    seen = integration.last_callback_at
    if seen is None or now - seen > EVIDENCE_EVERY:
        values["last_callback_at"] = now
    if cb.tenant_key and integration.tenant_key != cb.tenant_key:
        values["tenant_key"] = cb.tenant_key[:64]
    if values:
        record_evidence(integration, **values)


def record_evidence(integration: LarkIntegration, **values: Any) -> None:
    """Evidence on the (detached) integration, in the current transaction."""
    db.session.execute(
        update(LarkIntegration).where(LarkIntegration.id == integration.id).values(**values)
    )


def url_verified(integration: LarkIntegration) -> None:
    """Lark's console verified the card request URL: the setup checklist shows it."""
    record_evidence(integration, url_verified_at=utcnow())
    db.session.commit()
