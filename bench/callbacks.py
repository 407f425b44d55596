"""How fast the card request URL answers signed, encrypted button presses.

    python -m bench.callbacks [--levels 1,10,50,200] [--requests 400] [--workers 2]
                              [--threads 128] [--in-process 300]

Loads a PostgreSQL database of its own (`bench_callbacks` on BENCH_PG_URL, default
postgresql://postgres@127.0.0.1:5432) with one account, a bound Lark user and enough
triggered incidents that every press acknowledges a different one. Then, under gunicorn
on loopback, at each concurrency level it fires pre-built `card.action.trigger` callbacks
(AES-encrypted, sha256-signed, as Lark sends them) at `/lark/<key>/card`, and the same
number of requests at a bare Flask route of the same app, and prints p50 / p99 latency,
throughput and the throughput ratio. Every press must answer 200 with a success toast;
anything else counts as an error, and answers slower than 2.5 s (the product's own
deadline, under Lark's 3 s) are counted as late. A press still running at its deadline is
answered "being applied" and finishes through the outbox: counted apart, as deferred.

First, in process (Flask's test client, no HTTP, same PostgreSQL), it times presses one
after another against the bare route, and counts the SQL statements and commits of one.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import psycopg
from flask import Flask

DB_NAME = "bench_callbacks"
KEY = "bench-callbacks"
OPEN_ID = "ou_bench_operator"
VERIFICATION_TOKEN = "bench-vtoken"
ENCRYPT_KEY = "bench-encrypt-key"
SECRET_KEY = "bench-secret"
DATA_KEY = "YmVuY2gtb25seS1rZXktZm9yLXRoZS1iZW5jaG1hcms="
LATE_S = 2.5  # the product answers by then (webapp/cards/late.py), Lark gives up at 3 s
MAX_SECONDS_PER_RUN = 120  # a level that takes longer is cut short and reported so


def pg_base() -> str:
    return os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432").rstrip("/")


def app_config() -> dict[str, Any]:
    budget = os.environ.get("BENCH_ANSWER_BY_S")  # try another press deadline
    return {
        **({"CARD_ANSWER_BY_S": float(budget)} if budget else {}),
        "DATABASE_URL": f"{pg_base()}/{DB_NAME}",
        "SECRET_KEY": SECRET_KEY,
        "DATA_KEY": DATA_KEY,
        "LARK_SANDBOX": False,
        "REDIS_URL": "",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 20, "max_overflow": 10, "pool_pre_ping": False},
    }


def serve_app() -> Flask:
    """The gunicorn entry: the product app plus the bare route it is compared with."""
    from webapp import create_app

    app = create_app(app_config())
    logging.getLogger("webapp").setLevel(logging.WARNING)  # one INFO line a press is noise here

    @app.get("/bench/bare")
    def bare() -> str:
        return "ok"

    return app


# -- data --------------------------------------------------------------------------------


def load(incidents: int) -> list[int]:
    """A fresh database: account, admin with a seat, integration, binding, incidents."""
    with psycopg.connect(f"{pg_base()}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import (
        Account,
        Incident,
        LarkBinding,
        LarkIntegration,
        Member,
        Platform,
        Role,
        Severity,
        Status,
    )

    app = create_app(app_config())
    with app.app_context():
        db.create_all()
        account = Account(name="Bench", seats_allowed=10)
        member = Member(
            account=account, name="Li Lei", email="li@bench.example", role=Role.ADMIN, has_seat=True
        )
        integration = LarkIntegration(
            account=account, key=KEY, name="Lark", app_id="cli_bench", api_base_url="http://127.0.0.1:9",
            platform=Platform.LARK,
        )  # fmt: skip
        integration.app_secret = "secret"
        integration.verification_token = VERIFICATION_TOKEN
        integration.encrypt_key = ENCRYPT_KEY
        db.session.add_all([account, member, integration])
        db.session.flush()
        db.session.add(
            LarkBinding(integration_id=integration.id, member_id=member.id, open_id=OPEN_ID)
        )
        rows = [
            Incident(
                account_id=account.id,
                number=n,
                title=f"host-{n} is down",
                severity=Severity.CRITICAL,
                status=Status.TRIGGERED,
                labels={"service": "db"},
            )
            for n in range(1, incidents + 1)
        ]
        db.session.add_all(rows)
        db.session.commit()
        ids = [r.id for r in rows]
        db.session.remove()
        db.engine.dispose()
    with psycopg.connect(f"{pg_base()}/{DB_NAME}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return ids


def press(incident_id: int) -> tuple[bytes, dict[str, str]]:
    """One Acknowledge press, encrypted and signed as Lark sends it."""
    from webapp.lark import crypto

    payload = {
        "schema": "2.0",
        "header": {
            "event_id": uuid.uuid4().hex,
            "token": VERIFICATION_TOKEN,
            "event_type": "card.action.trigger",
            "create_time": str(int(time.time() * 1_000_000)),
            "tenant_key": "t-bench",
            "app_id": "cli_bench",
        },
        "event": {
            "operator": {"open_id": OPEN_ID}, "token": "c-bench", "host": "im_message",
            "action": {"tag": "button", "value": {"a": "ack", "i": incident_id, "v": 1}},
            "context": {"open_message_id": f"om_{incident_id}", "open_chat_id": "oc_bench"},
        },
    }  # fmt: skip
    body = json.dumps({"encrypt": crypto.encrypt(ENCRYPT_KEY, json.dumps(payload))}).encode()
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Lark-Request-Timestamp": timestamp,
        "X-Lark-Request-Nonce": nonce,
        "X-Lark-Signature": crypto.v2_signature(timestamp, nonce, ENCRYPT_KEY, body),
    }
    return body, headers


# -- load ----------------------------------------------------------------------------------


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0

    deferred: int = 0

    @property
    def late(self) -> int:
        """Answers after the product's 2.5 s deadline (Lark shows 200341 after 3 s)."""
        return sum(1 for t in self.latencies if t > LATE_S)

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


Request = tuple[str, str, bytes | None, dict[str, str]]


def fire(port: int, requests: list[Request], concurrency: int, check: bool) -> Run:
    """Closed loop: `concurrency` clients, each sending its share back to back (keep-alive)."""
    run = Run()
    shares = [requests[i::concurrency] for i in range(concurrency)]
    deadline = time.monotonic() + MAX_SECONDS_PER_RUN
    start = threading.Barrier(concurrency + 1)

    def client(share: list[Request]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        start.wait()
        for method, path, body, headers in share:
            if time.monotonic() > deadline:
                break
            began = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                verdict = _verdict(data) if check else "ok"
                ok = response.status == 200 and verdict != "error"
                problem = "" if ok else f"HTTP {response.status}: {data[:200]!r}"
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                ok, problem = False, repr(exc)
            elapsed = time.perf_counter() - began
            with run.lock:
                run.latencies.append(elapsed)
                run.errors += 0 if ok else 1
                run.deferred += 1 if ok and verdict == "deferred" else 0
                run.first_error = run.first_error or problem
        conn.close()

    threads = [threading.Thread(target=client, args=(s,)) for s in shares]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    run.seconds = time.perf_counter() - began
    return run


def _verdict(data: bytes) -> str:
    """ok (acknowledged), deferred ("being applied": finishes through the outbox), or error."""
    try:
        toast = json.loads(data)["toast"]
    except (ValueError, KeyError, TypeError):
        return "error"
    if toast.get("type") == "success":
        return "ok"
    if toast.get("type") == "info" and "being applied" in toast["i18n"]["en_us"]:
        return "deferred"
    return "error"


# -- in process ----------------------------------------------------------------------------


def in_process(n: int) -> dict[str, float]:
    """Presses one after another through Flask's test client, against the bare route."""
    from sqlalchemy import event

    from webapp.extensions import db

    ids = load(n + 21)
    presses = [press(i) for i in ids]
    app = serve_app()
    client = app.test_client()
    path = f"/lark/{KEY}/card"
    seen: dict[str, int] = {"statements": 0, "commits": 0}

    def on_statement(*_: Any) -> None:
        seen["statements"] += 1

    def on_commit(*_: Any) -> None:
        seen["commits"] += 1

    for body, headers in presses[:20]:  # warm: imports, pools, caches
        client.post(path, data=body, headers=headers)
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", on_statement)
        event.listen(db.engine, "commit", on_commit)
    body, headers = presses[20]
    answer = client.post(path, data=body, headers=headers).get_json()
    with app.app_context():
        event.remove(db.engine, "before_cursor_execute", on_statement)
        event.remove(db.engine, "commit", on_commit)
    if answer["toast"]["type"] != "success":
        raise SystemExit(f"press failed: {answer}")
    for _ in range(50):
        client.get("/bench/bare")
    started = time.perf_counter()
    for body, headers in presses[21:]:
        client.post(path, data=body, headers=headers)
    press_s = (time.perf_counter() - started) / n
    started = time.perf_counter()
    for _ in range(n):
        client.get("/bench/bare")
    bare_s = (time.perf_counter() - started) / n
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return {"press_ms": press_s * 1000, "bare_ms": bare_s * 1000, **seen}


def print_in_process(r: dict[str, float]) -> None:
    print("| in process | press ms | bare ms | press / bare | SQL statements | commits |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| one press after another | {r['press_ms']:.1f} | {r['bare_ms']:.2f}"
        f" | {r['press_ms'] / r['bare_ms']:.0f}x | {r['statements']:.0f} | {r['commits']:.0f} |",
        flush=True,
    )


# -- server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_gunicorn(
    port: int,
    workers: int,
    threads: int,
    entry: str = "bench.callbacks:serve_app()",
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """gunicorn serving `entry` on loopback, once its bare route answers."""
    command = [
        sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
        "--worker-class", "gthread", "--threads", str(threads), "--log-level", "warning",
        "--timeout", "120", entry,
    ]  # fmt: skip
    server = subprocess.Popen(command, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/bench/bare")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    stop(server)
    raise RuntimeError("gunicorn did not start within 60 s")


def stop(server: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(server.pid, signal.SIGKILL)


# -- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,10,50,200")
    parser.add_argument("--requests", type=int, default=400, help="presses per level")
    parser.add_argument("--workers", type=int, default=2)
    # Enough request threads to take every press of the largest level at once: the press
    # itself runs on the app's small pool, and its deadline counts from the handler's start.
    parser.add_argument("--threads", type=int, default=128)
    parser.add_argument("--in-process", type=int, default=300, help="presses timed in process")
    args = parser.parse_args(argv if argv is not None else [])
    levels = [int(n) for n in args.levels.split(",")]
    if args.in_process:
        print_in_process(in_process(args.in_process))
    warmup = 20
    ids = load(warmup + args.requests * len(levels))
    presses = [press(i) for i in ids]  # built before the clock starts
    port = free_port()
    server = start_gunicorn(port, args.workers, args.threads)
    try:
        report(port, levels, presses, args.requests, warmup)
    finally:
        stop(server)


def report(
    port: int, levels: list[int], presses: list[tuple[bytes, dict[str, str]]], n: int, warmup: int
) -> None:
    path = f"/lark/{KEY}/card"
    as_requests: list[Request] = [("POST", path, body, headers) for body, headers in presses]
    bare: list[Request] = [("GET", "/bench/bare", None, {})] * n
    fire(port, as_requests[:warmup], 1, check=True)
    fire(port, bare[:warmup], 1, check=False)
    columns = ("clicks", "p50 ms", "p99 ms", "req/s", "bare p99", "bare req/s", "ratio", "errors")
    columns += ("late >2.5s", "deferred")
    print(" ".join(f"{c:>10}" for c in columns))
    offset = warmup
    for level in levels:
        clicks = fire(port, as_requests[offset : offset + n], level, check=True)
        offset += n
        baseline = fire(port, bare, level, check=False)
        ratio = clicks.throughput / baseline.throughput if baseline.throughput else 0.0
        print(
            f"{level:>10} {clicks.p(0.5):>10.1f} {clicks.p(0.99):>10.1f} {clicks.throughput:>10.1f}"
            f" {baseline.p(0.99):>10.1f} {baseline.throughput:>10.1f} {ratio:>10.3f}"
            f" {clicks.errors:>10} {clicks.late:>10} {clicks.deferred:>10}",
            flush=True,
        )
        if clicks.first_error:
            print(f"           first error: {clicks.first_error}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
