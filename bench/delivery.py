"""How close delivery gets to Lark's ceiling, without ever being refused.

    python -m bench.delivery [--notifications 10000] [--users 200] [--chats 20] [--workers 2]

Builds a PostgreSQL database of its own (`bench_delivery` on BENCH_PG_URL, default
postgresql://postgres@127.0.0.1:5432), serves the app with the Lark sandbox on a loopback
port (limits on: 50/s and 1,000/min per API and app, 5/s per user or chat; paid edition, so
no monthly quota), queues the notifications as outbox rows spread over the users and chats,
runs the workers (threads of this process, sharing the in-memory limiter as workers on one
host would), and prints:
- throughput as a fraction of Lark's ceiling for that mix (the shortest time Lark's own
  windows allow for that many messages),
- rate-limit errors Lark answered (goal 0: limits are respected, never discovered),
- Lark calls per delivered message (goal <= 1.05; token calls included).
"""

from __future__ import annotations

import argparse
import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from flask import Flask
from sqlalchemy import func, insert, select
from werkzeug.serving import make_server

DATA_KEY = "YmVuY2gtb25seS1rZXktbm90LWEtcmVhbC1zZWNyZXQ="
RATE_CODES = (99991400, 230020)
LARK_PER_MINUTE, LARK_PER_SECOND, LARK_PER_RECIPIENT = 1000, 50, 5


def pg_base() -> str:
    return os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432").rstrip("/")


def recreate_database(name: str) -> str:
    with psycopg.connect(f"{pg_base()}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return f"{pg_base()}/{name}"


@contextmanager
def serving(db_name: str) -> Iterator[Flask]:
    """The app (with the sandbox) on a loopback port, over a fresh database."""
    from webapp import create_app
    from webapp.extensions import db

    url = recreate_database(db_name)
    server = make_server("127.0.0.1", 0, None, threaded=True)  # type: ignore[arg-type]
    base = f"http://127.0.0.1:{server.server_port}"
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench-secret",
            "DATA_KEY": DATA_KEY,
            "LARK_SANDBOX": True,
            "REDIS_URL": "",
            "PUBLIC_BASE_URL": base,
        }
    )
    app.config["PUBLIC_BASE_URL"] = base
    server.app = app  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with app.app_context():
        db.create_all()
    try:
        yield app
    finally:
        server.shutdown()
        with app.app_context():
            db.engine.dispose()


@dataclass
class World:
    integration_id: int
    recipients: list[tuple[str, str]]  # (receive_id_type, receive_id)
    incident_ids: list[int]


def build_world(app: Flask, users: int, chats: int, incidents: int) -> World:
    """Sandbox people and chats, and the account, integration and incidents that use them."""
    from webapp.extensions import db
    from webapp.models import Account, Incident, LarkIntegration, Severity, Status
    from webapp.sandbox import seed
    from webapp.sandbox.handle import LarkSandbox

    lark = LarkSandbox(app)
    lark.set_quota(edition="paid")
    people = [lark.add_user(f"User {n}", f"user{n}@bench.example") for n in range(users)]
    rooms = [lark.create_chat(f"Chat {n}", [p.open_id for p in people[:5]]) for n in range(chats)]
    with app.app_context():
        account = Account(name="Bench Co", seats_allowed=10)
        db.session.add(account)
        db.session.flush()
        integration = LarkIntegration(
            account_id=account.id,
            key="bench",
            name="Bench",
            app_id=seed.DEMO_APP_ID,
            api_base_url=f"{app.config['PUBLIC_BASE_URL']}/_lark",
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
        recipients = [("open_id", p.open_id) for p in people]
        recipients += [("chat_id", c.chat_id) for c in rooms]
        return World(integration.id, recipients, ids)


def queue(app: Flask, world: World, count: int) -> list[str]:
    """`count` send_card rows, round-robin over the recipients; returns their uuids."""
    from webapp.dispatch import new_uuid
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
                "uuid": new_uuid(),
                "layer": 0,
                "status": DeliveryStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "payload": {"target": receive_id, "purpose": "notify"},
            }
        )
    with app.app_context():
        for start in range(0, len(rows), 2000):
            db.session.execute(insert(Delivery), rows[start : start + 2000])
        db.session.commit()
    return [r["uuid"] for r in rows]


def pending(app: Flask) -> int:
    from webapp.extensions import db
    from webapp.models import Delivery, DeliveryStatus

    with app.app_context():
        count = db.session.scalar(
            select(func.count()).where(Delivery.status == DeliveryStatus.PENDING)
        )
        db.session.remove()
        return int(count or 0)


def run_workers(app: Flask, workers: int, deadline: float, on_tick: Any = None) -> float:
    """Workers deliver until nothing is pending (or the deadline); returns seconds taken."""
    from webapp import outbox

    stop = threading.Event()
    runner = threading.Thread(
        target=outbox.run_threads, args=(app, workers, 0.2, stop), daemon=True
    )
    started = time.monotonic()
    runner.start()
    last = started
    while pending(app) and time.monotonic() < deadline:
        time.sleep(0.5)
        if on_tick is not None:
            on_tick(time.monotonic() - started)
        if time.monotonic() - last >= 30:
            last = time.monotonic()
            print(f"  {time.monotonic() - started:5.0f}s: {pending(app)} pending", flush=True)
    elapsed = time.monotonic() - started
    stop.set()
    runner.join(timeout=30)
    return elapsed


def ceiling_seconds(messages: int, recipients: int) -> float:
    """The shortest time Lark's windows allow: 1,000 in any minute, 50 in any second per app,
    5 in any second per recipient."""
    full_minutes = math.ceil(messages / LARK_PER_MINUTE) - 1
    by_app = full_minutes * 60 + (messages - full_minutes * LARK_PER_MINUTE) / LARK_PER_SECOND
    per_recipient = math.ceil(messages / recipients)
    by_recipient = (per_recipient - 1) / LARK_PER_RECIPIENT
    return max(by_app, by_recipient)


def sandbox_calls(app: Flask) -> list[Any]:
    from webapp.sandbox.handle import LarkSandbox

    return LarkSandbox(app).calls()


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
    parser.add_argument("--workers", type=int, default=4, help="worker threads")
    args = parser.parse_args(argv)
    from webapp import outbox
    from webapp.extensions import db
    from webapp.models import Delivery, DeliveryStatus

    with serving("bench_delivery") as app:
        world = build_world(app, args.users, args.chats, incidents=1000)
        uuids = queue(app, world, args.notifications)
        print(f"  queued {len(uuids)} notifications; Lark allows ~1,000 a minute", flush=True)
        ceiling = ceiling_seconds(len(uuids), len(world.recipients))
        limit = time.monotonic() + ceiling * 3 + 120
        elapsed = run_workers(app, args.workers, limit)
        calls = sandbox_calls(app)
        with app.app_context():
            delivered = db.session.scalar(
                select(func.count()).where(Delivery.status == DeliveryStatus.DELIVERED)
            )
        refused = sum(1 for c in calls if c.code in RATE_CODES)
        table(
            [
                ("notifications", f"{len(uuids):,} to {args.users} users and {args.chats} chats"),
                ("workers", str(args.workers)),
                ("delivered", f"{delivered:,}"),
                ("time taken", f"{elapsed:.0f} s"),
                ("Lark's ceiling for this mix", f"{ceiling:.0f} s"),
                ("throughput / ceiling", f"{ceiling / elapsed:.2f}"),
                ("messages per minute", f"{(delivered or 0) / elapsed * 60:.0f}"),
                ("rate-limit errors received", str(refused)),
                ("Lark calls per delivered message", f"{len(calls) / max(1, delivered or 0):.3f}"),
                (
                    "worker: calls / deferred by our limits",
                    f"{outbox.stats.calls} / {outbox.stats.deferred}",
                ),
            ]
        )


if __name__ == "__main__":
    main()
