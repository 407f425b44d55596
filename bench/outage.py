"""A one-minute Lark outage in the middle of a run: afterwards every card arrives exactly once.

    python -m bench.outage [--notifications 2000] [--workers 2] [--outage 60]

Same set-up as bench.delivery (own PostgreSQL database `bench_outage`, the app and the Lark
sandbox on loopback, limits on). When half the notifications have arrived, the sandbox
answers every Open API call with HTTP 500 for 60 seconds. The workers keep retrying with
backoff; when the queue is empty the benchmark counts, on the sandbox's side, the messages
per send `uuid`: each notification must be there exactly once (none lost, none doubled).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from sqlalchemy import func, select

from bench.delivery import build_world, queue, run_workers, serving, table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notifications", type=int, default=2000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--outage", type=float, default=60.0, help="seconds")
    args = parser.parse_args(argv)
    from webapp.extensions import db
    from webapp.models import Delivery, DeliveryStatus
    from webapp.sandbox.handle import LarkSandbox

    with serving("bench_outage") as app:
        lark = LarkSandbox(app)
        world = build_world(app, args.users, args.chats, incidents=200)
        uuids = queue(app, world, args.notifications)
        outage: dict[str, float] = {}

        def watch(elapsed: float) -> None:
            """Start the outage once half the cards have arrived."""
            if "start" in outage:
                return
            if len(lark.sandbox.messages) >= len(uuids) // 2:
                lark.fail("/open-apis/*", status=500, seconds=args.outage)
                outage["start"], outage["delivered"] = elapsed, len(lark.sandbox.messages)
                print(f"  {elapsed:5.0f}s: Lark is down for {args.outage:.0f} s", flush=True)

        deadline = time.monotonic() + 1800
        elapsed = run_workers(app, args.workers, deadline, on_tick=watch)
        posted = Counter(m.uuid for m in lark.sandbox.messages.values())
        failed_calls = sum(1 for c in lark.calls() if c.status >= 500)
        with app.app_context():
            delivered = db.session.scalar(
                select(func.count()).where(Delivery.status == DeliveryStatus.DELIVERED)
            )
            retried = db.session.scalar(select(func.count()).where(Delivery.attempts > 1))
        expected = set(uuids)
        end_of_outage = outage.get("start", 0.0) + args.outage
        table(
            [
                ("notifications", f"{len(uuids):,} to {args.users} users and {args.chats} chats"),
                ("workers", str(args.workers)),
                (
                    "outage",
                    f"every call HTTP 500 for {args.outage:.0f} s, from {outage.get('start', 0):.0f} s "
                    f"({outage.get('delivered', 0):.0f} delivered by then)",
                ),
                ("calls refused during the outage", f"{failed_calls:,}"),
                ("rows that needed a retry", f"{retried:,}"),
                ("delivered (outbox rows)", f"{delivered:,}"),
                ("posted in Lark, by uuid", f"{len(expected & set(posted)):,}"),
                ("missing in Lark", f"{len(expected - set(posted)):,}"),
                ("posted more than once", f"{sum(1 for u in expected if posted[u] > 1):,}"),
                ("posted but never queued", f"{len(set(posted) - expected):,}"),
                ("time taken", f"{elapsed:.0f} s"),
                ("drained after Lark came back", f"{max(0.0, elapsed - end_of_outage):.0f} s"),
            ]
        )


if __name__ == "__main__":
    main()
