"""One transaction for a whole request (the card button press): inside `one_transaction()`
the verbs flush instead of committing, and the caller commits the change together with its
own rows (the press's receipt and answer) once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Row, Select

from webapp.extensions import db
from webapp.models import Incident

ONE_TRANSACTION = "incidents.one_transaction"  # keys in session.info
_HELD = "incidents.held"  # (transaction, ids) of the incidents lock_rows locked


@contextmanager
def one_transaction() -> Iterator[None]:
    """Inside, the verbs flush instead of committing, and leave the session as it is when
    they refuse (a refusal changes nothing). The caller commits, or rolls back on error."""
    session = db.session()
    before = session.info.get(ONE_TRANSACTION, False)
    session.info[ONE_TRANSACTION] = True
    try:
        yield
    finally:
        session.info[ONE_TRANSACTION] = before


def deferred() -> bool:
    return bool(db.session.info.get(ONE_TRANSACTION))


def commit_unless_deferred() -> None:
    if deferred():
        db.session.flush()
    else:
        db.session.commit()


def lock_rows(stmt: Select[Any], params: dict[str, Any] | None = None) -> list[Row[Any]]:
    """Run a select of incidents (with whatever it joins or eager-loads) under a row lock
    on the incidents, fresh from the database. A verb called next in the same transaction
    uses these rows instead of reading and locking them again."""
    locked = stmt.with_for_update(of=Incident).execution_options(populate_existing=True)
    rows = list(db.session.execute(locked, params or {}).unique().all())
    ids = {item.id for row in rows for item in row if isinstance(item, Incident)}
    db.session.info[_HELD] = (db.session().get_transaction(), ids)
    return rows


def held_lock(incident_id: int) -> Incident | None:
    """The incident lock_rows locked in the current transaction, from the identity map."""
    held = db.session.info.get(_HELD)
    if held and held[0] is db.session().get_transaction() and incident_id in held[1]:
        return db.session.get(Incident, incident_id)
    return None
