"""Lark's limits as the worker sees them: memory by default, Redis shared across workers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine
from flask import Flask
from limits.storage import storage_from_string

from tests import factories
from tests.factories import Persona
from webapp.delivery import lark_limits
from webapp.extensions import db
from webapp.models import ApiUsage, Edition
from webapp.ratelimit import Limiter

APP = "cli_limits_test"


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest, app: Flask) -> Iterator[str]:
    """Each test runs on the in-process limiter and on Redis (a key prefix of its own)."""
    if request.param == "memory":
        yield "memory"
        return
    saved = app.extensions["limiter"]
    prefix = f"test-delivery-{uuid.uuid4().hex}"
    app.extensions["limiter"] = Limiter(
        storage_from_string("redis://127.0.0.1:6379", key_prefix=prefix)
    )
    try:
        yield "redis"
    finally:
        app.extensions["limiter"].reset()
        app.extensions["limiter"] = saved


def test_at_most_five_messages_a_second_go_to_one_person(storage: str) -> None:
    waits = [lark_limits.allow_send(APP, "ou_busy") for _ in range(6)]

    assert waits.count(0.0) == 4  # one under Lark's 5, for the network's jitter
    assert 0 < waits[-1] <= 1.0 + lark_limits.EDGE_S
    assert lark_limits.allow_send(APP, "ou_other") == 0.0  # others are not slowed down


def test_a_message_held_back_goes_clear_of_the_window_s_edge(
    storage: str, clock: time_machine.Traveller
) -> None:
    """Lark counts each call a few ms after we do, and not always the same few: a call sent
    the moment our window frees a slot can still find Lark's window full (its 6th, 230020).
    The wait runs EDGE_S past the edge, and the budget is there when it is over."""
    for _ in range(4):
        assert lark_limits.allow_send(APP, "ou_busy") == 0.0
    wait = lark_limits.allow_send(APP, "ou_busy")

    assert 1.0 + lark_limits.EDGE_S - 0.05 <= wait <= 1.0 + lark_limits.EDGE_S
    clock.shift(wait)
    assert lark_limits.allow_send(APP, "ou_busy") == 0.0


def test_messages_of_one_app_are_paced_at_33_in_any_two_seconds(storage: str) -> None:
    waits = [lark_limits.allow_send(APP, f"ou_{n}") for n in range(34)]

    assert waits[:33] == [0.0] * 33
    assert 0 < waits[33] <= 2.0 + lark_limits.EDGE_S  # within two seconds, never a minute
    assert lark_limits.allow_send("cli_another_app", "ou_1") == 0.0


def test_a_refused_message_uses_up_nothing(storage: str) -> None:
    for _ in range(4):
        lark_limits.allow_send(APP, "ou_busy")
    for _ in range(10):
        assert lark_limits.allow_send(APP, "ou_busy") > 0

    sent_elsewhere = [lark_limits.allow_send(APP, f"ou_{n}") for n in range(29)]

    assert sent_elsewhere == [0.0] * 29  # 4 + 29 = the pace's 33


def test_a_minute_of_sending_is_spread_evenly_and_stays_under_lark_s_thousand(
    storage: str, clock: time_machine.Traveller
) -> None:
    """Every half second the worker sends what the budget allows: the sends never stop
    for a whole window, and any minute holds at most 990 (Lark's 1,000 less a margin)."""
    per_step: list[int] = []
    for _ in range(118):  # 59 s of shifted time, plus the little the test takes to run
        clock.shift(0.5)
        sent = 0
        while lark_limits.allow_send(APP, f"ou_{sum(per_step) + sent}") == 0.0:
            sent += 1
        per_step.append(sent)
    assert 950 <= sum(per_step) <= 990
    assert max(per_step) <= 33
    assert all(sum(per_step[i : i + 4]) > 0 for i in range(len(per_step) - 4))  # no 2 s idle


def test_one_card_is_updated_at_most_five_times_a_second(storage: str) -> None:
    waits = [lark_limits.allow_update(APP, "om_card") for _ in range(6)]

    assert waits[:4] == [0.0] * 4 and waits[4] > 0
    assert lark_limits.allow_update(APP, "om_other_card") == 0.0


def test_the_free_quota_is_used_up_at_the_configured_number(owner: Persona, app: Flask) -> None:
    integration = factories.lark_integration(owner.account)
    now = datetime(2026, 12, 14, 9, 30, tzinfo=UTC)
    db.session.add(ApiUsage(integration_id=integration.id, month="2026-12", calls=10_000))
    db.session.commit()

    assert not lark_limits.quota_used_up(integration, now)  # a paid edition has no quota
    integration.edition = Edition.FREE
    assert lark_limits.quota_used_up(integration, now)
    # The month turns at midnight Beijing time: 1 January 00:00 UTC+8 is 31 December 16:00 UTC.
    assert lark_limits.quota_used_up(integration, datetime(2026, 12, 31, 15, 59, tzinfo=UTC))
    assert not lark_limits.quota_used_up(integration, datetime(2026, 12, 31, 16, 0, tzinfo=UTC))
    assert lark_limits.quota_resets_at(now) == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
