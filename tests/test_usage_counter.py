"""The monthly usage counter: each process counts in memory and writes once a second and when
it exits, and the counts of several workers add up to every call they made."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from tests import factories
from tests.conftest import TEST_DATA_KEY
from tests.factories import Persona
from webapp.delivery import lark_limits
from webapp.extensions import db
from webapp.lark import usage
from webapp.models import ApiUsage, Edition, LarkIntegration, utcnow

SEND = "/open-apis/im/v1/messages"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def integration(owner: Persona) -> LarkIntegration:
    return factories.lark_integration(owner.account)


def stored(integration: LarkIntegration) -> int:
    db.session.rollback()
    calls = db.session.scalar(
        select(ApiUsage.calls).where(ApiUsage.integration_id == integration.id)
    )
    db.session.rollback()
    return int(calls or 0)


EXITING_PROCESS = """
import sys
from webapp import create_app
from webapp.lark import usage

usage.FLUSH_EVERY_S = 3600  # only the exit can write them
app = create_app({"DATABASE_URL": sys.argv[1], "SECRET_KEY": "x", "DATA_KEY": sys.argv[2],
                  "LARK_SANDBOX": False, "REDIS_URL": ""})
with app.app_context():
    for _ in range(7):
        usage.count_call(int(sys.argv[3]), "/open-apis/im/v1/messages")
"""


def test_a_process_writes_its_counts_when_it_exits(integration: LarkIntegration) -> None:
    url = db.engine.url.render_as_string(hide_password=False)
    subprocess.run(
        [sys.executable, "-c", EXITING_PROCESS, url, TEST_DATA_KEY, str(integration.id)],
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    assert stored(integration) == 7


def test_counts_are_written_within_a_second_or_so_without_anyone_asking(
    app: Flask, integration: LarkIntegration
) -> None:
    for _ in range(3):
        usage.count_call(integration.id, SEND)
    deadline = time.monotonic() + 15  # a bound for a loaded machine, not a speed claim
    while stored(integration) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stored(integration) == 3
    assert usage.unflushed(integration.id, usage.month_of(utcnow())) == 0


def test_the_counts_of_several_workers_add_up(app: Flask, integration: LarkIntegration) -> None:
    """Three processes' tallies, four threads each, flushing on their own schedule while
    the calls come in: the row ends with exactly every call made."""
    workers = [usage.Tally(app) for _ in range(3)]
    key = (integration.id, usage.month_of(utcnow()))
    per_thread = 200

    def calls(tally: usage.Tally) -> None:
        for n in range(per_thread):
            tally.add(key)
            if n % 50 == 0:
                tally.flush()

    threads = [threading.Thread(target=calls, args=(t,)) for t in workers for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for tally in workers:
        tally.flush()
        tally.stop.set()
    assert stored(integration) == 3 * 4 * per_thread


def test_the_free_quota_counts_this_process_s_calls_not_written_yet(
    app: Flask, integration: LarkIntegration, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "LARK_FREE_MONTHLY_QUOTA", 5)
    monkeypatch.setattr(usage, "FLUSH_EVERY_S", 3600)
    integration.edition = Edition.FREE
    db.session.commit()
    tally = usage.Tally(app)
    monkeypatch.setitem(app.extensions, "lark_usage", tally)
    for _ in range(5):
        usage.count_call(integration.id, SEND)
    assert stored(integration) == 0
    assert lark_limits.quota_used_up(integration, utcnow())
    tally.stop.set()


def test_a_reader_during_a_flush_sees_every_call_once(
    app: Flask, integration: LarkIntegration, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flusher has taken the counts from memory but not committed them: a reader then must
    wait for the row rather than see the calls in neither place (the quota read "ok")."""
    monkeypatch.setattr(usage, "FLUSH_EVERY_S", 3600)
    tally = usage.Tally(app)
    monkeypatch.setitem(app.extensions, "lark_usage", tally)
    month = usage.month_of(utcnow())
    for _ in range(10):
        usage.count_call(integration.id, SEND)

    writing, go = threading.Event(), threading.Event()
    increment = usage._increment

    def slow_increment(*args: object) -> None:
        writing.set()
        go.wait(30)
        increment(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(usage, "_increment", slow_increment)
    flusher = threading.Thread(target=tally.flush)
    flusher.start()
    assert writing.wait(30)
    seen: list[int] = []

    def read() -> None:
        with app.app_context():
            seen.append(usage.monthly_calls(integration.id, month))

    reader = threading.Thread(target=read)
    reader.start()
    reader.join(0.5)  # room for a reader that does not wait to read too early
    go.set()
    flusher.join(30)
    reader.join(30)
    tally.stop.set()
    assert seen == [10]
    assert stored(integration) == 10
