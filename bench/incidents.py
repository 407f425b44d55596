"""How the incident list holds up at 1,000 / 100,000 / 1,000,000 incidents.

    python -m bench.incidents [--sizes 1000,100000,1000000] [--requests 400]

For each size it (re)loads a PostgreSQL database of its own (`bench_incidents`, created on
BENCH_PG_URL, default postgresql://postgres@127.0.0.1:5432) with COPY, then, under gunicorn
with 2 sync workers on loopback, measures requests per second of
- the list partial (`GET /lark/<key>/incidents` with HX-Request: 50 rows, default filters), and
- a bare Flask route of the same app returning a fixed string,
and prints their ratio plus the SQL statements one list request runs (counted in process
with a SQLAlchemy event listener, so the timed runs carry no instrumentation).

The data looks like a busy account: the newest 1,000 incidents hold the open backlog
(triggered, processing, snoozed), everything older is closed, the benchmarked member is
assigned to about one incident in ten and belongs to 2 of 10 channels.
"""

from __future__ import annotations

import argparse
import http.client
import io
import multiprocessing
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from flask import Flask
from sqlalchemy import event
from sqlalchemy.schema import CreateIndex

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "bench_incidents"
KEY = "bench-integration-key"
DATA_KEY = "YmVuY2gtb25seS1rZXktbm90LWEtcmVhbC1zZWNyZXQ="
SECRET_KEY = "bench-secret"
OPEN_BACKLOG = 1000
MEMBERS = 40
CHANNELS = 10
WORKERS = 2
CLIENTS = 4


def pg_base() -> str:
    return os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432").rstrip("/")


def db_url() -> str:
    return f"{pg_base()}/{DB_NAME}"


def app_config() -> dict[str, Any]:
    return {
        "DATABASE_URL": db_url(),
        "SECRET_KEY": SECRET_KEY,
        "DATA_KEY": DATA_KEY,
        "LARK_SANDBOX": False,
        "REDIS_URL": "",
    }


def serve_app() -> Flask:
    """The gunicorn entry: the product app plus the bare route it is compared with."""
    from webapp import create_app

    app = create_app(app_config())

    @app.get("/bench/bare")
    def bare() -> str:
        return "ok"

    return app


# -- data --------------------------------------------------------------------------------


def recreate_database() -> None:
    with psycopg.connect(f"{pg_base()}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def create_schema_and_people() -> dict[str, Any]:
    """Tables from the models, an account, members, channels, a bound member."""
    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import Account, Channel, LarkBinding, LarkIntegration, Member, Role

    app = create_app(app_config())
    with app.app_context():
        db.create_all()
        account = Account(name="Bench Co", seats_allowed=MEMBERS)
        members = [
            Member(
                account=account,
                name=f"Member {n}",
                email=f"m{n}@bench.example",
                role=Role.MEMBER,
                has_seat=True,
            )
            for n in range(MEMBERS)
        ]
        me = members[0]
        db.session.add_all([account, *members])
        db.session.flush()
        # The benchmarked member belongs to the first two channels only.
        channels = [
            Channel(
                account_id=account.id,
                name=f"Channel {n}",
                members=([me] if n < 2 else []) + members[1 + 3 * n : 4 + 3 * n],
            )
            for n in range(CHANNELS)
        ]
        integration = LarkIntegration(
            account=account,
            key=KEY,
            name="Bench",
            app_id="cli_bench",
            api_base_url="http://127.0.0.1:9/",
        )
        integration.app_secret = "bench"
        integration.verification_token = "bench"
        binding = LarkBinding(integration=integration, member=me, open_id="ou_bench")
        db.session.add_all([*channels, integration, binding])
        db.session.commit()
        return {
            "account_id": account.id,
            "member_ids": [m.id for m in members],
            "channel_ids": [c.id for c in channels],
            "me": me.id,
            "binding": binding.id,
        }


def truncate_incidents() -> None:
    with psycopg.connect(db_url(), autocommit=True) as conn:
        conn.execute(
            "TRUNCATE incident, incident_assignee, incident_responder, incident_event, alert,"
            " card_message RESTART IDENTITY CASCADE"
        )


_TITLES = (
    "Disk usage above 90% on {h}",
    "HTTP 5xx rate high on {h}",
    "CPU saturated on {h}",
    "Replication lag on {h}",
    "Certificate expires soon on {h}",
    "Pod crash looping on {h}",
)


def _incident_rows(size: int, world: dict[str, Any], rng: random.Random) -> Iterator[tuple]:
    now = datetime.now(UTC)
    step = timedelta(minutes=2)
    start = now - step * size
    for i in range(size):
        created = start + step * i
        status, snoozed = _status(size - i, rng, now)
        assignee = world["me"] if rng.random() < 0.1 else rng.choice(world["member_ids"])
        channel = rng.choice(world["channel_ids"]) if rng.random() < 0.9 else None
        severity = rng.choices(("Critical", "Warning", "Info"), (2, 5, 3))[0]
        title = rng.choice(_TITLES).format(h=f"host-{i % 997:03d}")
        acked = status != "Triggered"
        yield (
            (
                i + 1,
                world["account_id"],
                i + 1,
                title,
                "",
                severity,
                status,
                snoozed,
                channel,
                "{}",
                None,
                1,
                created,
                created,
                created + step / 2 if acked else None,
                assignee if acked else None,
                created + step if status == "Closed" else None,
                assignee if status == "Closed" else None,
                1,
            ),
            assignee,
            acked,
        )


def _status(age: int, rng: random.Random, now: datetime) -> tuple[str, datetime | None]:
    if age > OPEN_BACKLOG:
        return "Closed", None
    status = rng.choices(("Triggered", "Processing", "Closed"), (3, 3, 4))[0]
    snoozed = now + timedelta(hours=8) if status != "Closed" and rng.random() < 0.15 else None
    return status, snoozed


_INCIDENT_COLUMNS = (
    "id, account_id, number, title, description, severity, status, snoozed_until, channel_id,"
    " labels, dedup_key, alert_count, created_at, updated_at, acknowledged_at,"
    " acknowledged_by_id, closed_at, closed_by_id, version"
)


def load_incidents(size: int, world: dict[str, Any]) -> float:
    """COPY `size` incidents with their assignees and responders; returns seconds taken."""
    started = time.perf_counter()
    truncate_incidents()
    rng = random.Random(size)
    assignees = io.StringIO()
    responders = io.StringIO()
    indexes = _secondary_indexes()
    with psycopg.connect(db_url()) as conn:
        for index in indexes:
            conn.execute(f"DROP INDEX IF EXISTS {index.name}")
        with conn.cursor().copy(f"COPY incident ({_INCIDENT_COLUMNS}) FROM STDIN") as copy:
            for row, assignee, acked in _incident_rows(size, world, rng):
                copy.write_row(row)
                assignees.write(f"{row[0]}\t{assignee}\n")
                if acked:
                    responders.write(f"{row[0]}\t{assignee}\n")
        for table, buffer in (("incident_assignee", assignees), ("incident_responder", responders)):
            with conn.cursor().copy(f"COPY {table} (incident_id, member_id) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
        conn.execute("SELECT setval('incident_id_seq', %s)", (size,))
        for index in indexes:
            conn.execute(_ddl(CreateIndex(index)))
        conn.commit()
    with psycopg.connect(db_url(), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


def _secondary_indexes() -> list[Any]:
    """Indexes rebuilt after the COPY (faster than maintaining them row by row)."""
    from webapp.models import Incident, incident_assignees, incident_responders

    tables = (Incident.__table__, incident_assignees, incident_responders)
    return [index for table in tables for index in table.indexes]


def _ddl(statement: Any) -> str:
    from sqlalchemy.dialects import postgresql

    return str(statement.compile(dialect=postgresql.dialect()))


# -- measuring ---------------------------------------------------------------------------


def session_cookie(world: dict[str, Any]) -> str:
    """The cookie a member has after the Lark OAuth round trip, signed with SECRET_KEY."""
    from webapp.extensions import db
    from webapp.identity import sessions
    from webapp.models import Member

    app = serve_app()
    with app.app_context():  # the server-side record every request checks
        member = db.session.get(Member, world["me"])
        assert member is not None
        sid = sessions.start_record(member, "bench")
        db.session.remove()
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    value = serializer.dumps(
        {
            "_user_id": str(world["me"]),
            "_fresh": True,
            sessions.SESSION_ID: sid,
            "csrf_token": "b" * 40,  # Flask-WTF's secret, set when the page first drew a form
            "lark": {"key": KEY, "binding": world["binding"]},
        }
    )
    return f"{app.config['SESSION_COOKIE_NAME']}={value}"


LIST_PATH = f"/lark/{KEY}/incidents"
BARE_PATH = "/bench/bare"


def statements_per_list_request(cookie: str) -> tuple[int, int]:
    """(SQL statements, rows) for one list partial request, counted in process."""
    from webapp.extensions import db

    app = serve_app()
    seen: list[str] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    client = app.test_client()
    name, value = cookie.split("=", 1)
    client.set_cookie(name, value)
    headers = {"HX-Request": "true"}
    client.get(LIST_PATH, headers=headers)  # warm caches, as a running worker would be
    seen.clear()
    response = client.get(LIST_PATH, headers=headers)
    body = response.get_data(as_text=True)
    if response.status_code != 200:
        raise SystemExit(f"list request failed: {response.status_code}\n{body[:2000]}")
    return len(seen), body.count('class="inc-row"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_gunicorn(threads: int = 0) -> tuple[subprocess.Popen[bytes], int]:
    """WORKERS sync workers, or with `threads` gthread workers of that many threads each,
    which keep a client's connection open between its requests (`--keep-alive` seconds)."""
    port = _free_port()
    command = [
        sys.executable, "-m", "gunicorn", "--workers", str(WORKERS),
        "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
    ]  # fmt: skip
    if threads:
        command += ["--worker-class", "gthread", "--threads", str(threads), "--keep-alive", "20"]
    command.append("bench.incidents:serve_app()")
    process = subprocess.Popen(command, cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            _get(port, BARE_PATH, "")
            return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def stop_gunicorn(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def _get(port: int, path: str, cookie: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"HX-Request": "true", "Cookie": cookie})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _client(args: tuple[int, str, str, int]) -> int:
    port, path, cookie, count = args
    failures = 0
    for _ in range(count):
        failures += _get(port, path, cookie) != 200
    return failures


def requests_per_second(port: int, path: str, cookie: str, total: int) -> float:
    """`total` requests from CLIENTS concurrent clients; every one must answer 200."""
    per_client = max(1, total // CLIENTS)
    jobs = [(port, path, cookie, per_client)] * CLIENTS
    with multiprocessing.Pool(CLIENTS) as pool:
        pool.map(_client, [(port, path, cookie, 10)] * CLIENTS)  # warm up the workers
        started = time.perf_counter()
        failures = sum(pool.map(_client, jobs))
        elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{failures} requests to {path} failed")
    return per_client * CLIENTS / elapsed


# -- the run -----------------------------------------------------------------------------


def measure(size: int, world: dict[str, Any], cookie: str, total: int) -> dict[str, Any]:
    loaded = load_incidents(size, world)
    statements, rows = statements_per_list_request(cookie)
    process, port = start_gunicorn()
    try:
        bare = requests_per_second(port, BARE_PATH, "", total)
        listing = requests_per_second(port, LIST_PATH, cookie, total)
    finally:
        stop_gunicorn(process)
    return {
        "size": size,
        "load_s": loaded,
        "rows": rows,
        "statements": statements,
        "list_rps": listing,
        "bare_rps": bare,
    }


def report(results: list[dict[str, Any]]) -> str:
    base = results[0]["list_rps"]
    lines = [
        "| incidents | load (s) | rows | SQL statements | list req/s | bare req/s"
        " | list / bare | list vs smallest |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['size']:,} | {r['load_s']:.0f} | {r['rows']} | {r['statements']}"
            f" | {r['list_rps']:.0f} | {r['bare_rps']:.0f} | {r['list_rps'] / r['bare_rps']:.0%}"
            f" | {r['list_rps'] / base:.2f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--requests", type=int, default=400, help="per route and size")
    options = parser.parse_args(argv or [])
    sizes = [int(s) for s in options.sizes.split(",")]
    recreate_database()
    world = create_schema_and_people()
    cookie = session_cookie(world)
    results = []
    for size in sizes:
        print(f"loading {size:,} incidents and measuring...", flush=True)
        results.append(measure(size, world, cookie, options.requests))
    print()
    print(
        f"gunicorn, {WORKERS} sync workers, {CLIENTS} clients on loopback, "
        f"{options.requests} requests per route and size"
    )
    print(report(results))


if __name__ == "__main__":
    main(sys.argv[1:])
