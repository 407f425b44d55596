"""`Idempotency-Key`: the first answer to a create made with a token and a key is kept 24
hours, and a retry with the same key gets it again instead of creating twice.

The answer is written in the transaction of the create itself (the caller passes its work as
a function that must not commit), so a crash cannot leave a created object without its
answer, and two racing requests with one key create once: the second one's insert hits the
unique (token, key) constraint, rolls back everything it did, and reads the first answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.models import ApiToken, IdempotentAnswer, utcnow

KEPT = timedelta(hours=24)
KEY_MAX = 200


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    replayed: bool


class KeyReused(Exception):
    """The key was used within 24 hours for a different request."""


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


def once(
    token: ApiToken, key: str | None, print_: str, create: Callable[[], tuple[int, Any]]
) -> Answer:
    """The stored answer for (token, key), or run `create` (which flushes but does not
    commit) and store its answer in the same transaction. Without a key, just create."""
    if key is None:
        status, body = create()
        db.session.commit()
        return Answer(status, body, replayed=False)
    found = _recall(token, key)
    if found is not None:
        return _replay(found, print_)
    _forget_old(token)
    status, body = create()
    db.session.add(
        IdempotentAnswer(token_id=token.id, key=key, fingerprint=print_, status=status, body=body)
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        first = _recall(token, key)
        if first is None:
            raise
        return _replay(first, print_)
    return Answer(status, body, replayed=False)


def _replay(found: IdempotentAnswer, print_: str) -> Answer:
    if found.fingerprint != print_:
        raise KeyReused
    return Answer(found.status, found.body, replayed=True)


def _recall(token: ApiToken, key: str) -> IdempotentAnswer | None:
    return db.session.execute(
        select(IdempotentAnswer).where(
            IdempotentAnswer.token_id == token.id,
            IdempotentAnswer.key == key,
            IdempotentAnswer.created_at > utcnow() - KEPT,
        )
    ).scalar_one_or_none()


def _forget_old(token: ApiToken) -> None:
    """Answers older than 24 hours go (their keys may be used again), in the create's
    transaction."""
    db.session.execute(
        delete(IdempotentAnswer).where(
            IdempotentAnswer.token_id == token.id, IdempotentAnswer.created_at <= utcnow() - KEPT
        )
    )
