"""A one-minute Lark outage in the middle of a run: afterwards every card arrives exactly once.

    python -m bench.outage [--notifications 2000] [--workers 2] [--outage 60]

Same set-up as bench.delivery (own PostgreSQL database `bench_outage`, one web process with
the Lark sandbox, limits on, and separate `flask lark worker` processes sharing limits
through Redis). When half the notifications have been delivered, the sandbox answers every
Open API call with HTTP 500 for 60 seconds. The workers keep retrying with backoff; when
the queue is empty the benchmark counts, on the sandbox's side, the messages per send
`uuid`: each notification must be there exactly once (none lost, none doubled).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from bench.delivery import build_world, count_rows, queue, staged, table, wait_for_delivery


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notifications", type=int, default=2000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument("--outage", type=float, default=60.0, help="seconds")
    args = parser.parse_args(argv)
    from webapp.models import Delivery, DeliveryStatus

    with staged("bench_outage") as stage:
        world = build_world(stage, args.users, args.chats, incidents=200)
        uuids = queue(stage, world, args.notifications)
        outage: dict[str, float] = {}

        def watch(elapsed: float, pending: int) -> None:
            """Take Lark down once half the notifications are delivered."""
            if "start" not in outage and pending <= len(uuids) // 2:
                fault = {"path": "/open-apis/*", "status": 500, "seconds": args.outage}
                stage.control("/_faults", fault)
                outage["start"], outage["delivered"] = elapsed, len(uuids) - pending
                print(f"  {elapsed:5.0f}s: Lark is down for {args.outage:.0f} s", flush=True)

        stage.start_workers(args.workers, args.threads)
        elapsed = wait_for_delivery(stage, time.monotonic() + 1800, on_tick=watch)
        stage.stop_workers()
        posted = Counter(m["uuid"] for m in stage.control("/_control/messages")["messages"])
        calls = stage.control("/_control/calls")["count"]
        delivered = count_rows(stage, Delivery.status == DeliveryStatus.DELIVERED)
        retried = count_rows(stage, Delivery.attempts > 1)
        expected = set(uuids)
        back = outage.get("start", 0.0) + args.outage
        table(
            [
                ("notifications", f"{len(uuids):,} to {args.users} users and {args.chats} chats"),
                ("workers", f"{args.workers} processes x {args.threads} threads"),
                (
                    "outage",
                    f"every call HTTP 500 for {args.outage:.0f} s, from "
                    f"{outage.get('start', 0):.0f} s ({outage.get('delivered', 0):.0f} delivered)",
                ),
                ("rows that needed a retry", f"{retried:,}"),
                ("Lark calls made (refused ones included)", f"{calls:,}"),
                ("delivered (outbox rows)", f"{delivered:,}"),
                ("posted in Lark, by uuid", f"{len(expected & set(posted)):,}"),
                ("missing in Lark", f"{len(expected - set(posted)):,}"),
                ("posted more than once", f"{sum(1 for u in expected if posted[u] > 1):,}"),
                ("posted but never queued", f"{len(set(posted) - expected):,}"),
                ("time taken", f"{elapsed:.0f} s"),
                ("drained after Lark came back", f"{max(0.0, elapsed - back):.0f} s"),
            ]
        )


if __name__ == "__main__":
    main()
