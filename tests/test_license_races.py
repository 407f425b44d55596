"""Two admins giving away the last seat at the same moment, on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from flask import Flask

from tests import factories
from webapp.extensions import db
from webapp.identity import licensing
from webapp.models import Account, Member

pytestmark = pytest.mark.postgres_only


def test_only_one_of_two_simultaneous_assignments_gets_the_last_seat(
    app: Flask, owner: factories.Persona
) -> None:
    owner.account.seats_allowed = 2  # the owner holds one: one seat is left
    db.session.commit()
    waiting = [factories.persona("member", account=owner.account, seat=False) for _ in range(2)]
    account_id, member_ids = owner.account.id, [p.member.id for p in waiting]
    start = threading.Barrier(2)
    outcomes = [""] * 2

    def assign(index: int) -> None:
        with app.app_context():
            account = db.session.get(Account, account_id)
            member = db.session.get(Member, member_ids[index])
            assert account is not None and member is not None
            start.wait()
            try:
                licensing.assign(account, member)
                outcomes[index] = "ok"
            except licensing.LicenseError as error:
                outcomes[index] = str(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=assign, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes)[0].startswith("All 2 seats are in use")
    assert sorted(outcomes)[1] == "ok"
    db.session.expire_all()
    assert licensing.seats_used(account_id) == 2
