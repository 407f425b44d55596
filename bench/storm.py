"""An alert storm: 10,000 alerts as Alertmanager batches of 100 from several senders at once.

    python -m bench.storm [--alerts 10000] [--batch 100] [--senders 4] [--groups 8]

Production shape on one machine, loopback only: a PostgreSQL database of its own
(`bench_storm` on BENCH_PG_URL), the intake under gunicorn (2 workers x 4 threads), the Lark
sandbox in its own web process and two `flask lark worker` processes delivering the cards
while the storm goes on (as bench.delivery). One channel groups by alertname and service over
30 minutes (the demo's rule), warns at 10, 100 and 1,000 alerts, and its dispatch rule posts
to two group chats. Each sender is an Alertmanager with its own intake URL; every alert has
its own instance and fingerprint, spread over `--groups` alertname x service pairs.

It prints the intake's alerts per second as a ratio against a bare route of the same
gunicorn in the same run, the p50 / p99 / max answer time of a batch (Alertmanager gives up
after 10 s), the incidents and alerts stored, and the Lark messages sent and updated once the
outbox has drained.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from bench.callbacks import start_gunicorn, stop
from bench.delivery import Stage, free_port, staged, table, wait_for_delivery

GROUP_NAMES = ("HighLatency", "ErrorRate", "DiskFull", "PodRestarts")
SERVICES = ("api", "checkout", "search", "payments")


def serve_app() -> Flask:
    """The gunicorn entry: the product app (settings from the environment) and a bare route."""
    from webapp import create_app

    app = create_app()

    @app.get("/bench/bare")
    def bare() -> str:
        return "ok"

    return app


@dataclass
class World:
    keys: list[str]
    chats: list[str]


def build_world(stage: Stage, senders: int) -> World:
    from webapp.extensions import db
    from webapp.models import (
        Account,
        AlertSource,
        Channel,
        DispatchRule,
        LarkIntegration,
        NoiseRules,
    )
    from webapp.sandbox import seed

    stage.control("/_control/quota", {"edition": "paid"})
    people = stage.control("/_control/users", {"count": 5, "prefix": "storm"})["users"]
    members = [p["open_id"] for p in people]
    chats = stage.control("/_control/chats", {"count": 2, "members": members})["chats"]
    with stage.app.app_context():
        account = Account(name="Storm Co", seats_allowed=10)
        db.session.add(account)
        db.session.flush()
        integration = LarkIntegration(
            account_id=account.id,
            key="storm",
            name="Storm",
            app_id=seed.DEMO_APP_ID,
            api_base_url=stage.lark,
        )
        integration.app_secret = seed.DEMO_APP_SECRET
        integration.verification_token = seed.DEMO_VERIFICATION_TOKEN
        channel = Channel(account_id=account.id, name="Core Platform")
        db.session.add_all([integration, channel])
        db.session.flush()
        db.session.add(
            NoiseRules(
                channel_id=channel.id,
                group_by=["alertname", "service"],
                group_window_minutes=30,
                storm_thresholds=[10, 100, 1000],
            )
        )
        db.session.add(
            DispatchRule(
                channel_id=channel.id,
                integration_id=integration.id,
                name="storm chats",
                layers=[{"chat_ids": chats}],
            )
        )
        keys = [f"storm-sender-{n}" for n in range(senders)]
        for key in keys:
            db.session.add(
                AlertSource(
                    account_id=account.id,
                    channel_id=channel.id,
                    name=key,
                    key=key,
                    kind="alertmanager",
                )
            )
        db.session.commit()
    return World(keys, chats)


def batches(alerts: int, size: int, groups: int) -> list[bytes]:
    """Alertmanager webhook bodies (version 4), built before the clock starts."""
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    pairs = [(name, service) for service in SERVICES for name in GROUP_NAMES][:groups]
    bodies = []
    for first in range(0, alerts, size):
        items = []
        for n in range(first, min(alerts, first + size)):
            name, service = pairs[n % len(pairs)]
            labels = {"alertname": name, "service": service, "instance": f"host-{n:05d}"}
            items.append(
                {
                    "status": "firing",
                    "labels": {**labels, "severity": "warning"},
                    "annotations": {"summary": f"{name} on {service} host-{n:05d}"},
                    "startsAt": started,
                    "endsAt": "0001-01-01T00:00:00Z",
                    "fingerprint": f"{n:016x}",
                }
            )
        body = {"version": "4", "status": "firing", "receiver": "oncall", "alerts": items}
        bodies.append(json.dumps(body).encode())
    return bodies


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def fire(port: int, requests: list[tuple[str, bytes | None]], senders: int) -> Run:
    """`senders` clients at once, each sending its share back to back (keep-alive)."""
    run = Run()
    start = threading.Barrier(senders + 1)

    def client(share: list[tuple[str, bytes | None]]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        start.wait()
        for path, body in share:
            began = time.perf_counter()
            try:
                method = "POST" if body is not None else "GET"
                headers = {"Content-Type": "application/json"} if body is not None else {}
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                problem = (
                    "" if response.status == 200 else f"HTTP {response.status}: {data[:200]!r}"
                )
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                problem = repr(exc)
            with run.lock:
                run.latencies.append(time.perf_counter() - began)
                if problem:
                    run.errors.append(problem)
        conn.close()

    threads = [
        threading.Thread(target=client, args=(requests[i::senders],)) for i in range(senders)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    run.seconds = time.perf_counter() - began
    return run


def stored(stage: Stage) -> dict[str, Any]:
    from webapp.extensions import db
    from webapp.models import Alert, Delivery, Incident, IncidentEvent

    with stage.app.app_context():
        counts = {
            "incidents": db.session.scalar(select(func.count()).select_from(Incident)),
            "alerts": db.session.scalar(select(func.count()).select_from(Alert)),
            "largest": db.session.scalar(select(func.max(Incident.alert_count))),
            "storm lines": db.session.scalar(
                select(func.count()).where(IncidentEvent.kind == "storm")
            ),
            "outbox rows": {
                kind: n
                for kind, n in db.session.execute(
                    select(Delivery.kind, func.count()).group_by(Delivery.kind)
                )
            },
        }
        db.session.remove()
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--groups", type=int, default=8, help="alertname x service pairs")
    args = parser.parse_args(argv if argv is not None else [])
    with staged("bench_storm") as stage:
        world = build_world(stage, args.senders)
        bodies = batches(args.alerts, args.batch, args.groups)
        # Sender i posts batches i, i + senders, ... to its own intake URL.
        storm = [
            (f"/api/v1/alerts/{world.keys[i % args.senders]}", body)
            for i, body in enumerate(bodies)
        ]
        bare: list[tuple[str, bytes | None]] = [("/bench/bare", None)] * 2000
        port = free_port()
        env = {**stage.env, "LARK_SANDBOX": "0"}
        server = start_gunicorn(port, 2, 4, "bench.storm:serve_app()", env)
        try:
            fire(port, bare[:50], 1)  # warm both workers' imports and pools
            stage.start_workers(2, 4)
            run = fire(port, storm, args.senders)
            baseline = fire(port, bare, args.senders)
        finally:
            stop(server)
        wait_for_delivery(stage, time.monotonic() + 600)
        stage.stop_workers()
        messages = stage.control("/_control/messages")["messages"]
        report(args, run, baseline, stored(stage), messages, len(world.chats))


def report(
    args: argparse.Namespace,
    run: Run,
    baseline: Run,
    counts: dict[str, Any],
    messages: list[dict[str, Any]],
    chats: int,
) -> None:
    alerts_per_s = args.alerts / run.seconds
    bare_per_s = len(baseline.latencies) / baseline.seconds
    updates = sum(int(m["updates"]) for m in messages)
    per_target = (len(messages) + updates) / (max(1, int(counts["incidents"] or 0)) * chats)
    storm = f"{args.alerts:,} alerts in batches of {args.batch} from {args.senders} senders"
    answers = f"{run.p(0.5):.2f} / {run.p(0.99):.2f} / {max(run.latencies):.2f} s"
    table(
        [
            ("storm", storm),
            ("time to answer every batch", f"{run.seconds:.1f} s"),
            ("intake alerts/s", f"{alerts_per_s:.0f}"),
            ("bare route req/s (same gunicorn, same run)", f"{bare_per_s:.0f}"),
            ("alerts/s / bare req/s", f"{alerts_per_s / bare_per_s:.2f}"),
            ("batches/s / bare req/s", f"{len(run.latencies) / run.seconds / bare_per_s:.3f}"),
            ("batch answer p50 / p99 / max", answers),
            ("batches refused or failed", f"{len(run.errors)} {run.errors[:1]}"),
            ("incidents stored", str(counts["incidents"])),
            ("alerts stored (largest incident)", f"{counts['alerts']:,} ({counts['largest']:,})"),
            ("storm timeline lines", str(counts["storm lines"])),
            ("outbox rows by kind", json.dumps(counts["outbox rows"], sort_keys=True)),
            ("Lark messages sent (cards and storm notices)", str(len(messages))),
            ("Lark card updates", str(updates)),
            ("messages + updates per incident and chat", f"{per_target:.1f}"),
        ]
    )


if __name__ == "__main__":
    main(sys.argv[1:])
