"""The real amtool (Debian's prometheus-alertmanager) against the app's Alertmanager API.

amtool is another process: it reads the machine's clock, not the test's, and writes the
silence's startsAt and endsAt from it (`--duration=2h` is two hours from its own now). So
these tests state their moment as the machine's real now, read through time-machine's
escape hatch, and the app's clock ticks on from there in step with amtool's; what they
assert is relative to what amtool sent (a two-hour silence, active now).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.factories import Persona
from tests.silences_support import firing, kinds, pages, paging_channel, post
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.models import AuditEntry, Silence, TokenScope, utcnow
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox
from webapp.tokens import service as tokens

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def machine_now() -> datetime:
    return datetime.fromtimestamp(time_machine.escape_hatch.time.time(), UTC)


@pytest.fixture
def amtool(
    live_server: str, owner: Persona, tmp_path: Path, clock: time_machine.Traveller
) -> Callable[..., str]:
    clock.move_to(machine_now())  # see the module's docstring
    _, secret = tokens.create(owner.account.id, "amtool", TokenScope.WRITE, None, owner.member)
    config = tmp_path / "http.yml"
    config.write_text(f"authorization:\n  type: Bearer\n  credentials: {secret}\n")

    def run(*args: str) -> str:
        done = subprocess.run(
            [
                "amtool",
                f"--alertmanager.url={live_server}/alertmanager",
                f"--http.config.file={config}",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    return run


def test_amtool_adds_queries_and_expires_a_silence_that_holds_an_alert(
    amtool: Callable[..., str], client: FlaskClient, owner: Persona, lark: LarkSandbox
) -> None:
    _, source = paging_channel(owner)

    silence_id = amtool(
        "silence", "add", "alertname=DiskFull", "--duration=2h", "-c", "db switchover"
    ).strip()

    assert UUID.match(silence_id)
    stored = db.session.get(Silence, silence_id)
    assert stored is not None and stored.account_id == owner.account.id
    assert stored.comment == "db switchover"
    assert stored.ends_at - stored.starts_at == pytest.approx(
        timedelta(hours=2), abs=timedelta(seconds=5)
    )
    assert amtool("silence", "query", "-q").split() == [silence_id]
    listed = amtool("silence", "query", "alertname=DiskFull")
    assert silence_id in listed and "db switchover" in listed

    incident = post(client, source, firing())
    outbox.run_once()
    assert incident.silence_id == silence_id
    assert lark.messages_to(seed.LI_LEI.open_id) == []
    assert lark.messages_to(seed.ONCALL_CHAT.chat_id) == []

    amtool("silence", "expire", silence_id)

    db.session.refresh(incident)
    assert incident.silence_id is None
    assert kinds(incident)[-1] == "unsilenced"
    assert len(pages(incident)) == 2
    outbox.run_once()
    [card] = lark.messages_to(seed.LI_LEI.open_id)
    assert "Disk full on db-01" in card.content
    assert amtool("silence", "query", "-q").split() == []  # expired ones are not listed
    assert silence_id in amtool("silence", "query", "--expired", "-q").split()
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["silence_created", "silence_expired"]


def test_amtool_query_filters_by_matcher_as_alertmanager_does(
    amtool: Callable[..., str], owner: Persona
) -> None:
    disk = amtool("silence", "add", "alertname=DiskFull", "-c", "disk").strip()
    load = amtool("silence", "add", 'alertname=~"High.*"', "env=prod", "-c", "load").strip()

    assert amtool("silence", "query", "-q", "alertname=DiskFull").split() == [disk]
    assert amtool("silence", "query", "-q", 'alertname=~"High.*"').split() == [load]
    assert amtool("silence", "query", "-q", "env=staging").split() == []
    assert sorted(amtool("silence", "query", "-q").split()) == sorted([disk, load])
    assert utcnow() < db.session.get(Silence, disk).ends_at
