"""The insights page at a year of a busy account (1,000,000 incidents), before and after 0005.

    python -m bench.insights [--size 1000000] [--requests 20]

It loads a PostgreSQL database of its own (`bench_insights` on BENCH_PG_URL, default
postgresql://postgres@127.0.0.1:5432) with COPY: one account, 40 members, 10 channels, `size`
incidents spread evenly over the last 365 days, each with its timeline events (acknowledged
from the card, the web or the API; resolved by a person or by the alert's recovery; a few
escalations). Then, twice in the same run (without the indexes of migration 0005, then with
them), it times in process with the Flask test client, one request after another:
- a bare Flask route of the same app returning a fixed string,
- the incident list partial of the Lark homepage (`GET /lark/<key>/incidents`, HX-Request),
- the insights page for 7, 30 and 90 days (`GET /admin/insights/?days=N`),
and prints the median milliseconds, the ratio of each insights page to the list partial, and
EXPLAIN (ANALYZE) timings of every SQL statement the 90-day page runs.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.schema import CreateIndex

from bench.incidents import DATA_KEY, SECRET_KEY, _ddl, pg_base

DB_NAME = "bench_insights"
KEY = "bench-insights-key"
MEMBERS = 40
CHANNELS = 10
OPEN_BACKLOG = 1000
# The indexes migration 0005 adds; dropped for the "before" half of the run.
NEW_INDEXES = ("ix_incident_event_kind_created", "ix_incident_event_by_person")
PAGES = {
    "bare route": "/bench/bare",
    "list partial": f"/lark/{KEY}/incidents",
    "insights 7 days": "/admin/insights/?days=7",
    "insights 30 days": "/admin/insights/?days=30",
    "insights 90 days": "/admin/insights/?days=90",
}


def db_url() -> str:
    return f"{pg_base()}/{DB_NAME}"


def make_app() -> Flask:
    from webapp import create_app

    app = create_app(
        {
            "DATABASE_URL": db_url(),
            "SECRET_KEY": SECRET_KEY,
            "DATA_KEY": DATA_KEY,
            "LARK_SANDBOX": False,
            "REDIS_URL": "",
        }
    )

    @app.get("/bench/bare")
    def bare() -> str:
        return "ok"

    return app


# -- data --------------------------------------------------------------------------------


def create_world(app: Flask) -> dict[str, Any]:
    from webapp.extensions import db
    from webapp.models import Account, Channel, LarkBinding, LarkIntegration, Member, Role

    with psycopg.connect(f"{pg_base()}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    with app.app_context():
        db.create_all()
        account = Account(name="Bench Co", seats_allowed=MEMBERS)
        members = [
            Member(
                account=account,
                name=f"Member {n}",
                email=f"m{n}@bench.example",
                role=Role.OWNER if n == 0 else Role.MEMBER,
                has_seat=True,
            )
            for n in range(MEMBERS)
        ]
        db.session.add_all([account, *members])
        db.session.flush()
        channels = [
            Channel(account_id=account.id, name=f"Channel {n}", members=members[:4])
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
        binding = LarkBinding(integration=integration, member=members[0], open_id="ou_bench")
        db.session.add_all([*channels, integration, binding])
        db.session.commit()
        return {
            "account_id": account.id,
            "member_ids": [m.id for m in members],
            "channel_ids": [c.id for c in channels],
            "me": members[0].id,
            "binding": binding.id,
        }


_TITLES = tuple(f"{what} on host-{n:02d}" for what in ("Disk full", "5xx high") for n in range(40))
_INCIDENT_COLUMNS = (
    "id, account_id, number, title, description, severity, status, channel_id, labels,"
    " alert_count, created_at, updated_at, acknowledged_at, acknowledged_by_id, closed_at,"
    " closed_by_id, version"
)
_EVENT_COLUMNS = "incident_id, actor_id, source, kind, details, created_at"


def _rows(size: int, world: dict[str, Any]) -> Iterator[tuple[tuple, int, list[tuple]]]:
    """(incident row, assignee, its events), oldest first, over the last 365 days."""
    rng = random.Random(size)
    now = datetime.now(UTC)
    step = timedelta(days=365) / size
    # Noisy rules are a long tail: a few titles open most incidents.
    weights = [1 / (n + 1) for n in range(len(_TITLES))]
    titles = rng.choices(_TITLES, weights, k=size)
    for i in range(size):
        created = now - step * (size - i)
        who = rng.choice(world["member_ids"])
        open_ = size - i <= OPEN_BACKLOG and rng.random() < 0.6
        acked = rng.random() < 0.85
        ack_at = created + timedelta(seconds=rng.randint(20, 1800)) if acked else None
        closed_at = None if open_ else created + timedelta(seconds=rng.randint(120, 14400))
        events: list[tuple] = []
        if ack_at is not None:
            source = rng.choice(("card", "card", "web", "api"))
            actor = None if source == "api" else who
            events.append((i + 1, actor, source, "acknowledged", "{}", ack_at))
        if closed_at is not None:
            by_person = acked and rng.random() < 0.7
            events.append(
                (
                    i + 1,
                    who if by_person else None,
                    "web" if by_person else "system",
                    "resolved",
                    "{}",
                    closed_at,
                )
            )
        if rng.random() < 0.03:
            events.append((i + 1, None, "system", "escalated", '{"layer": 1}', created))
        status = "Closed" if closed_at else ("Processing" if acked else "Triggered")
        row = (
            i + 1, world["account_id"], i + 1, titles[i], "",
            rng.choices(("Critical", "Warning", "Info"), (2, 5, 3))[0], status,
            rng.choice(world["channel_ids"]), "{}", 1, created, closed_at or ack_at or created,
            ack_at, who if acked else None, closed_at, None, 1,
        )  # fmt: skip
        yield row, who, events


def load(size: int, world: dict[str, Any]) -> float:
    """COPY the incidents, assignees and events, then build the secondary indexes."""
    from webapp.models import Incident, IncidentEvent, incident_assignees

    started = time.perf_counter()
    tables = (Incident.__table__, IncidentEvent.__table__, incident_assignees)
    indexes = [index for table in tables for index in table.indexes]
    assignees, events = io.StringIO(), io.StringIO()
    with psycopg.connect(db_url()) as conn:
        for index in indexes:
            conn.execute(f"DROP INDEX IF EXISTS {index.name}")
        with conn.cursor().copy(f"COPY incident ({_INCIDENT_COLUMNS}) FROM STDIN") as copy:
            for row, who, made in _rows(size, world):
                copy.write_row(row)
                assignees.write(f"{row[0]}\t{who}\n")
                for e in made:
                    events.write("\t".join(r"\N" if v is None else str(v) for v in e) + "\n")
        with conn.cursor().copy("COPY incident_assignee (incident_id, member_id) FROM STDIN") as c:
            c.write(assignees.getvalue())
        with conn.cursor().copy(f"COPY incident_event ({_EVENT_COLUMNS}) FROM STDIN") as c:
            c.write(events.getvalue())
        conn.execute("SELECT setval('incident_id_seq', %s)", (size,))
        for index in indexes:
            conn.execute(_ddl(CreateIndex(index)))
        conn.commit()
    analyze()
    return time.perf_counter() - started


def analyze() -> None:
    with psycopg.connect(db_url(), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def drop_new_indexes() -> None:
    with psycopg.connect(db_url(), autocommit=True) as conn:
        for name in NEW_INDEXES:
            conn.execute(f"DROP INDEX IF EXISTS {name}")
    analyze()


def create_new_indexes() -> float:
    from webapp.models import IncidentEvent

    started = time.perf_counter()
    with psycopg.connect(db_url(), autocommit=True) as conn:
        for index in IncidentEvent.__table__.indexes:
            if index.name in NEW_INDEXES:
                conn.execute(_ddl(CreateIndex(index)))
    analyze()
    return time.perf_counter() - started


def loaded_world(app: Flask, size: int) -> dict[str, Any] | None:
    """The world of a previous run when its database holds `size` incidents, else None."""
    from sqlalchemy import func, select

    from webapp.extensions import db
    from webapp.models import Channel, Incident, LarkBinding, Member

    try:
        with app.app_context():
            if db.session.scalar(select(func.count()).select_from(Incident)) != size:
                return None
            binding = db.session.scalars(select(LarkBinding)).one()
            return {
                "account_id": binding.member.account_id,
                "member_ids": list(db.session.scalars(select(Member.id))),
                "channel_ids": list(db.session.scalars(select(Channel.id))),
                "me": binding.member_id,
                "binding": binding.id,
            }
    except Exception:  # no database of a previous run: load one
        return None


# -- measuring ---------------------------------------------------------------------------


def signed_in_client(app: Flask, world: dict[str, Any]) -> FlaskClient:
    """A client with the cookie the Lark OAuth round trip leaves the owner."""
    from webapp.extensions import db
    from webapp.identity import sessions
    from webapp.models import Member

    client = app.test_client()
    with app.app_context():
        sid = sessions.start_record(db.session.get(Member, world["me"]), "bench")
    with client.session_transaction() as session:
        session.update(
            {
                "_user_id": str(world["me"]),
                "_fresh": True,
                sessions.SESSION_ID: sid,
                "lark": {"key": KEY, "binding": world["binding"]},
            }
        )
    return client


def timings(client: FlaskClient, requests: int) -> dict[str, float]:
    """Median milliseconds per page, after one warm-up request each."""
    found = {}
    for name, path in PAGES.items():
        headers = {"HX-Request": "true"} if "list" in name else {}
        samples = []
        for n in range(requests + 1):
            started = time.perf_counter()
            response = client.get(path, headers=headers)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise SystemExit(f"{path} answered {response.status_code}")
            if n:
                samples.append(elapsed * 1000)
        found[name] = statistics.median(samples)
    return found


def explain(app: Flask, client: FlaskClient, path: str) -> list[tuple[float, str]]:
    """(execution ms, first plan line) of each statement one request to `path` runs."""
    from webapp.extensions import db

    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    client.get(path)
    event.remove(engine, "before_cursor_execute", record)
    plans = []
    with engine.connect() as conn:
        for statement, parameters in seen:
            lines = [
                r[0] for r in conn.exec_driver_sql("EXPLAIN (ANALYZE) " + statement, parameters)
            ]
            ms = next(float(x.split()[2]) for x in lines if x.startswith("Execution Time"))
            plans.append((ms, " ".join(statement.split())[:90] + " -> " + lines[0].strip()[:70]))
    return plans


def report(size: int, halves: dict[str, dict[str, float]]) -> str:
    lines = [
        f"{size:,} incidents; median ms per request, in process, one after another",
        "",
        "| page | "
        + " | ".join(halves)
        + " | "
        + " | ".join(f"÷ list ({h})" for h in halves)
        + " |",
        "| --- |" + " ---: |" * (2 * len(halves)),
    ]
    for name in PAGES:
        ms = " | ".join(f"{t[name]:.1f}" for t in halves.values())
        ratio = " | ".join(f"{t[name] / t['list partial']:.2f}x" for t in halves.values())
        lines.append(f"| {name} | {ms} | {ratio} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="incidents to load")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the database of a previous run of this size"
    )
    options = parser.parse_args(argv or [])
    app = make_app()
    world = loaded_world(app, options.size) if options.reuse else None
    if world is None:
        world = create_world(app)
        print(f"loading {options.size:,} incidents...", flush=True)
        print(f"loaded in {load(options.size, world):.0f} s", flush=True)
    client = signed_in_client(app, world)
    halves: dict[str, dict[str, float]] = {}
    for half in ("before 0005", "after 0005"):
        if half.startswith("before"):
            drop_new_indexes()
        else:
            print(f"0005 indexes built in {create_new_indexes():.0f} s", flush=True)
        halves[half] = timings(client, options.requests)
        print(f"\nEXPLAIN ANALYZE of the 90-day page's statements, {half}:")
        for ms, line in explain(app, client, PAGES["insights 90 days"]):
            print(f"  {ms:8.1f} ms  {line}")
    print()
    print(report(options.size, halves))


if __name__ == "__main__":
    main(sys.argv[1:])
