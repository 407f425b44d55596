"""How close delivery gets to Lark's ceiling, without ever being refused.

    python -m bench.delivery [--notifications 10000] [--users 200] [--chats 20]
                             [--workers 2] [--threads 4]

Production shape on one machine, loopback only: a PostgreSQL database of its own
(`bench_delivery` on BENCH_PG_URL, default postgresql://postgres@127.0.0.1:5432), one web
process serving the app with the Lark sandbox (limits on: 50/s and 1,000/min per API and
app, 5/s per user or chat; paid edition, so no monthly quota), and `--workers` separate
`flask lark worker` processes sharing one rate-limit budget through Redis (BENCH_REDIS_URL,
default redis://127.0.0.1:6379). The notifications are queued as outbox rows spread evenly
over the users and chats. It prints:
- throughput as a fraction of Lark's ceiling for that mix (the shortest time Lark's own
  windows allow for that many messages),
- rate-limit errors Lark answered (goal 0: limits are respected, never discovered),
- Lark calls per delivered message (goal <= 1.05; token calls included).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from flask import Flask
from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parent.parent
DATA_KEY = "YmVuY2gtb25seS1rZXktbm90LWEtcmVhbC1zZWNyZXQ="
LARK_PER_MINUTE, LARK_PER_SECOND, LARK_PER_RECIPIENT = 1000, 50, 5


def pg_base() -> str:
    return os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432").rstrip("/")


def recreate_database(name: str) -> str:
    with psycopg.connect(f"{pg_base()}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return f"{pg_base()}/{name}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stage:
    """The running set-up: the app for database work, and the sandbox's base URL."""

    app: Flask
    lark: str  # e.g. http://127.0.0.1:PORT/_lark
    env: dict[str, str]
    workers: list[subprocess.Popen[bytes]]
    threads: int = 1
    restarts: int = 0

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """The sandbox's control API (the sandbox lives in the web process)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - http on loopback only
            f"{self.lark}{path}", data=data, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
            raw = answer.read()
        return json.loads(raw) if raw else None

    def start_workers(self, count: int, threads: int) -> None:
        self.threads = threads
        for _ in range(count):
            self.workers.append(self._worker())

    def _worker(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "flask", "--app", "app", "lark", "worker"]
        command += ["--threads", str(self.threads), "--interval", "0.2"]
        log = tempfile.NamedTemporaryFile(prefix="bench-worker-", suffix=".log", delete=False)  # noqa: SIM115
        env = {**self.env, "LARK_SANDBOX": "0"}
        return subprocess.Popen(command, env=env, cwd=ROOT, stderr=log, stdout=log)

    def revive_workers(self) -> None:
        """A worker that died (killed from outside) is replaced, as a supervisor would."""
        for index, worker in enumerate(self.workers):
            if worker.poll() is not None:
                print(f"  worker {worker.pid} exited ({worker.returncode}); restarted", flush=True)
                self.restarts += 1
                self.workers[index] = self._worker()

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.terminate()
        for worker in self.workers:
            worker.wait(timeout=30)
        self.workers.clear()


@contextmanager
def staged(db_name: str) -> Iterator[Stage]:
    from webapp import create_app
    from webapp.extensions import db

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": recreate_database(db_name),
        "SECRET_KEY": "bench-secret",
        "DATA_KEY": DATA_KEY,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379"),
        "FLASK_DEBUG": "0",
    }
    settings = ("DATABASE_URL", "SECRET_KEY", "DATA_KEY", "PUBLIC_BASE_URL", "REDIS_URL")
    app = create_app({**{name: env[name] for name in settings}, "LARK_SANDBOX": False})
    with app.app_context():
        db.create_all()
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.delivery", "--serve", str(port)],
        env={**env, "LARK_SANDBOX": "1"},
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )
    stage = Stage(app, f"http://127.0.0.1:{port}/_lark", env, [])
    try:
        _wait_until_up(stage)
        yield stage
    finally:
        stage.stop_workers()
        server.terminate()
        server.wait(timeout=30)
        with app.app_context():
            db.engine.dispose()


def _wait_until_up(stage: Stage) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            stage.control("/_faults")
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def serve(port: int) -> None:
    """The web process: the app with the sandbox, threaded, on loopback."""
    from werkzeug.serving import make_server

    from webapp import create_app

    make_server("127.0.0.1", port, create_app(), threaded=True).serve_forever()


@dataclass
class World:
    integration_id: int
    recipients: list[tuple[str, str]]  # (receive_id_type, receive_id)
    incident_ids: list[int]


def build_world(stage: Stage, users: int, chats: int, incidents: int) -> World:
    """Sandbox people and chats, and the account, integration and incidents that use them."""
    from webapp.extensions import db
    from webapp.models import Account, Incident, LarkIntegration, Severity, Status
    from webapp.sandbox import seed

    stage.control("/_control/quota", {"edition": "paid"})
    people = stage.control("/_control/users", {"count": users, "prefix": "bench"})["users"]
    open_ids = [p["open_id"] for p in people]
    rooms = stage.control("/_control/chats", {"count": chats, "members": open_ids[:5]})["chats"]
    with stage.app.app_context():
        account = Account(name="Bench Co", seats_allowed=10)
        db.session.add(account)
        db.session.flush()
        integration = LarkIntegration(
            account_id=account.id,
            key="bench",
            name="Bench",
            app_id=seed.DEMO_APP_ID,
            api_base_url=stage.lark,
        )
        integration.app_secret = seed.DEMO_APP_SECRET
        integration.verification_token = seed.DEMO_VERIFICATION_TOKEN
        db.session.add(integration)
        db.session.flush()
        rows = [
            {
                "account_id": account.id,
                "number": n + 1,
                "title": f"service-{n % 37}: error rate above threshold",
                "severity": Severity.CRITICAL,
                "status": Status.TRIGGERED,
                "labels": {"service": f"service-{n % 37}"},
                "version": 1,
                "alert_count": 1,
            }
            for n in range(incidents)
        ]
        db.session.execute(insert(Incident), rows)
        db.session.commit()
        ids = list(db.session.scalars(select(Incident.id).order_by(Incident.id)))
        recipients = [("open_id", o) for o in open_ids] + [("chat_id", c) for c in rooms]
        return World(integration.id, recipients, ids)


def queue(stage: Stage, world: World, count: int) -> list[str]:
    """`count` send_card rows, round-robin over the recipients; returns their uuids."""
    from webapp.extensions import db
    from webapp.models import Delivery, DeliveryStatus, utcnow

    now = utcnow()
    rows: list[dict[str, Any]] = []
    for n in range(count):
        id_type, receive_id = world.recipients[n % len(world.recipients)]
        rows.append(
            {
                "integration_id": world.integration_id,
                "incident_id": world.incident_ids[n % len(world.incident_ids)],
                "kind": "send_card",
                "receive_id_type": id_type,
                "receive_id": receive_id,
                "uuid": uuid.uuid4().hex,
                "layer": 0,
                "status": DeliveryStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "payload": {"target": receive_id, "purpose": "notify"},
            }
        )
    with stage.app.app_context():
        for start in range(0, len(rows), 2000):
            db.session.execute(insert(Delivery), rows[start : start + 2000])
        db.session.commit()
    return [r["uuid"] for r in rows]


def count_rows(stage: Stage, *where: Any) -> int:
    from webapp.extensions import db
    from webapp.models import Delivery

    with stage.app.app_context():
        found = db.session.scalar(select(func.count()).select_from(Delivery).where(*where))
        db.session.remove()
        return int(found or 0)


def wait_for_delivery(
    stage: Stage, deadline: float, on_tick: Callable[[float, int], None] | None = None
) -> float:
    """Wait until nothing is pending (or the deadline); returns the seconds taken."""
    from webapp.models import Delivery, DeliveryStatus

    started, last = time.monotonic(), time.monotonic()
    while time.monotonic() < deadline:
        pending = count_rows(stage, Delivery.status == DeliveryStatus.PENDING)
        if pending == 0:
            break
        stage.revive_workers()
        if on_tick is not None:
            on_tick(time.monotonic() - started, pending)
        if time.monotonic() - last >= 30:
            last = time.monotonic()
            print(f"  {last - started:5.0f}s: {pending:,} pending", flush=True)
        time.sleep(0.5)
    return time.monotonic() - started


def ceiling_seconds(messages: int, recipients: int) -> float:
    """The shortest time Lark's windows allow: 1,000 in any minute and 50 in any second per
    app, 5 in any second per recipient."""
    full_minutes = math.ceil(messages / LARK_PER_MINUTE) - 1
    by_app = full_minutes * 60 + (messages - full_minutes * LARK_PER_MINUTE) / LARK_PER_SECOND
    by_recipient = (math.ceil(messages / recipients) - 1) / LARK_PER_RECIPIENT
    return max(by_app, by_recipient)


def sustained_seconds(messages: int, recipients: int) -> float:
    """The shortest time at Lark's sustained pace, 1,000 a minute spread evenly (what the
    worker's pace aims at: it never spends a minute's budget in a burst)."""
    by_recipient = (math.ceil(messages / recipients) - 1) / LARK_PER_RECIPIENT
    return max(messages / LARK_PER_MINUTE * 60, by_recipient)


def rate_limit_answers(stage: Stage) -> int:
    """Lark's 99991400 / 230020 answers, as the client recorded them (LarkApiEvent)."""
    from webapp.extensions import db
    from webapp.models import LarkApiEvent

    with stage.app.app_context():
        found = db.session.scalar(select(func.count()).where(LarkApiEvent.kind == "rate_limited"))
        db.session.remove()
        return int(found or 0)


def table(rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    print(f"| {'measure'.ljust(width)} | value |")
    print(f"| {'-' * width} | ----- |")
    for key, value in rows:
        print(f"| {key.ljust(width)} | {value} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notifications", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return
    from webapp.models import Delivery, DeliveryStatus

    with staged("bench_delivery") as stage:
        world = build_world(stage, args.users, args.chats, incidents=1000)
        uuids = queue(stage, world, args.notifications)
        ceiling = ceiling_seconds(len(uuids), len(world.recipients))
        sustained = sustained_seconds(len(uuids), len(world.recipients))
        print(f"  queued {len(uuids):,}; Lark's ceiling for them: {ceiling:.0f} s", flush=True)
        stage.start_workers(args.workers, args.threads)
        elapsed = wait_for_delivery(stage, time.monotonic() + ceiling * 3 + 120)
        stage.stop_workers()
        delivered = count_rows(stage, Delivery.status == DeliveryStatus.DELIVERED)
        calls = stage.control("/_control/calls")["count"]
        posted = stage.control("/_control/messages")["count"]
        table(
            [
                ("notifications", f"{len(uuids):,} to {args.users} users and {args.chats} chats"),
                (
                    "workers",
                    f"{args.workers} processes x {args.threads} threads, Redis limits "
                    f"({stage.restarts} restarted after being killed)",
                ),
                ("delivered (outbox rows) / posted in Lark", f"{delivered:,} / {posted:,}"),
                ("time taken", f"{elapsed:.0f} s"),
                ("Lark's ceiling for this mix", f"{ceiling:.0f} s"),
                ("throughput / ceiling", f"{ceiling / elapsed:.2f}"),
                ("Lark's sustained pace (1,000/min) for it", f"{sustained:.0f} s"),
                ("throughput / sustained pace", f"{sustained / elapsed:.2f}"),
                ("messages per minute", f"{delivered / elapsed * 60:.0f}"),
                ("rate-limit errors received", str(rate_limit_answers(stage))),
                ("Lark calls per delivered message", f"{calls / max(1, delivered):.3f}"),
            ]
        )


if __name__ == "__main__":
    main()
