"""The homepage's incident list as thousands of open phones see it: a refresh every 15 s.

    python -m bench.homepages [--incidents 1000] [--requests 400] [--seconds 8] [--threads 0]
                              [--levels 300,600,1000,...,16000]

Loads `bench_incidents` (as bench/incidents.py does) with 1,000 incidents, then prints, each
against the bare route of the same app in the same run:
1. in process (Flask's test client, no HTTP): the list partial (50 rows, default filters),
   the same request answered 304 (If-None-Match with its ETag), the bare route, in ms, and
   the partial's size raw and gzipped;
2. under gunicorn (2 sync workers, or `--threads N`: gthread workers with keep-alive;
   loopback, 4 client processes, closed loop): req/s of
   the list partial, of its 304 refresh, and of the bare route;
3. a capacity run: N open homepages, each refreshing every 15 s with the ETag it holds
   (nothing changed, so 304s), simulated as an open-loop arrival of N/15 requests a second
   for a bounded time per level; latency counts from the moment a request was due, so a
   server falling behind shows in it. It reports the largest N with p99 under 250 ms.
The load generator shares the machine's cores with gunicorn and PostgreSQL.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import multiprocessing
import sys
import threading
import time
from typing import Any

from bench import incidents as setup
from bench.incidents import BARE_PATH, LIST_PATH

REFRESH_S = 15
P99_GOAL_MS = 250
GENERATORS = 2  # load generator processes in the capacity run
THREADS = 24  # connections per generator


def in_process(cookie: str, n: int) -> dict[str, float]:
    app = setup.serve_app()
    client = app.test_client()
    name, value = cookie.split("=", 1)
    client.set_cookie(name, value)
    hx = {"HX-Request": "true"}
    first = client.get(LIST_PATH, headers=hx)
    tag = first.headers["ETag"]
    packed = client.get(LIST_PATH, headers={**hx, "Accept-Encoding": "gzip"})
    assert packed.headers.get("Content-Encoding") == "gzip"
    assert abs(len(gzip.decompress(packed.data)) - len(first.data)) < 1024  # tokens differ
    timings = {}
    for label, path, headers, status in (
        ("list", LIST_PATH, hx, 200),
        ("304", LIST_PATH, {**hx, "If-None-Match": tag}, 304),
        ("bare", BARE_PATH, {}, 200),
    ):
        for _ in range(10):
            client.get(path, headers=headers)
        started = time.perf_counter()
        for _ in range(n):
            response = client.get(path, headers=headers)
            if response.status_code != status:
                raise SystemExit(f"{label}: {response.status_code}")
        timings[label] = (time.perf_counter() - started) / n * 1000
    return {**timings, "raw_kb": len(first.data) / 1024, "gzip_kb": len(packed.data) / 1024}


def etag_of(port: int, cookie: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", LIST_PATH, headers={"HX-Request": "true", "Cookie": cookie})
    response = conn.getresponse()
    response.read()
    conn.close()
    return str(response.getheader("ETag"))


def _closed(args: tuple[int, str, dict[str, str], int, int]) -> int:
    port, path, headers, count, status = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    failures = 0
    for _ in range(count):
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        if status == 304 and response.status == 200:  # a row's age moved on: the new tag
            headers = {**headers, "If-None-Match": str(response.getheader("ETag"))}
        else:
            failures += response.status != status
        if response.getheader("Connection", "").lower() == "close":
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.close()
    return failures


def rate(port: int, path: str, headers: dict[str, str], total: int, status: int = 200) -> float:
    clients = setup.CLIENTS
    per = max(1, total // clients)
    with multiprocessing.Pool(clients) as pool:
        pool.map(_closed, [(port, path, headers, 10, status)] * clients)
        started = time.perf_counter()
        failures = sum(pool.map(_closed, [(port, path, headers, per, status)] * clients))
        elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{failures} requests to {path} failed")
    return per * clients / elapsed


# -- capacity: open loop ---------------------------------------------------------------------


def _open_loop(args: tuple[int, dict[str, str], float, float]) -> tuple[list[float], int]:
    """Requests due at a fixed rate from `start`; each latency counts from when it was due.
    A 200 (a row's age moved on, "2 minutes ago" to "3") hands the page its new tag, as a
    browser's cache would; anything but a 200 or a 304 is an error."""
    port, shared, per_second, seconds = args
    total = int(per_second * seconds)
    start = time.monotonic() + 0.5
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    slots = iter(range(total))

    def client() -> None:
        nonlocal errors
        headers = dict(shared)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while True:
            with lock:
                slot = next(slots, None)
            if slot is None:
                break
            due = start + slot / per_second
            time.sleep(max(0.0, due - time.monotonic()))
            try:
                conn.request("GET", LIST_PATH, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status in (200, 304)
                if response.status == 200:
                    headers["If-None-Match"] = str(response.getheader("ETag"))
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                ok = False
            with lock:
                latencies.append(time.monotonic() - due)
                errors += 0 if ok else 1
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


def capacity(port: int, cookie: str, levels: list[int], seconds: float) -> list[dict[str, Any]]:
    headers = {"HX-Request": "true", "Cookie": cookie, "If-None-Match": etag_of(port, cookie)}
    results = []
    for homepages in levels:
        per_second = homepages / REFRESH_S
        jobs = [(port, headers, per_second / GENERATORS, seconds)] * GENERATORS
        with multiprocessing.Pool(GENERATORS) as pool:
            parts = pool.map(_open_loop, jobs)
        latencies = sorted(t for part, _ in parts for t in part)
        errors = sum(e for _, e in parts)
        p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1000
        results.append({"homepages": homepages, "rps": per_second, "p99": p99, "errors": errors})
        print(
            f"  {homepages:>6} homepages: {per_second:6.0f} req/s due, p99 {p99:7.1f} ms,"
            f" {errors} errors",
            flush=True,
        )
        if p99 >= P99_GOAL_MS or errors:
            break
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=400, help="per route, closed loop")
    parser.add_argument("--seconds", type=float, default=8.0, help="per capacity level")
    parser.add_argument(
        "--levels", default="300,600,1000,1500,2000,3000,4000,6000,8000,10000,12000,16000"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="gthread workers with this many threads and keep-alive (0: sync workers, the "
        "default: 8 threads served a quarter of the homepages in the same run)",
    )
    options = parser.parse_args(argv or [])
    setup.recreate_database()
    world = setup.create_schema_and_people()
    setup.load_incidents(options.incidents, world)
    cookie = setup.session_cookie(world)
    local = in_process(cookie, 100)
    process, port = setup.start_gunicorn(options.threads)
    server = (
        f"{setup.WORKERS} gthread workers x {options.threads} threads, keep-alive"
        if options.threads
        else f"{setup.WORKERS} sync workers"
    )
    try:
        hx = {"HX-Request": "true", "Cookie": cookie}
        bare = rate(port, BARE_PATH, {}, options.requests)
        listing = rate(port, LIST_PATH, hx, options.requests)
        refresh = rate(
            port, LIST_PATH, {**hx, "If-None-Match": etag_of(port, cookie)}, options.requests, 304
        )
        levels = [int(n) for n in options.levels.split(",")]
        runs = capacity(port, cookie, levels, options.seconds)
    finally:
        setup.stop_gunicorn(process)
    print(f"gunicorn: {server}")
    report(local, bare, listing, refresh, runs)


def report(
    local: dict[str, float], bare: float, listing: float, refresh: float, runs: list[dict[str, Any]]
) -> None:
    served = [r for r in runs if r["p99"] < P99_GOAL_MS and not r["errors"]]
    best = max((r["homepages"] for r in served), default=0)
    everyone = " (every level tried)" if len(served) == len(runs) else ""
    rows = [
        ("list partial, in process", f"{local['list']:.1f} ms", local["list"] / local["bare"]),
        ("304 refresh, in process", f"{local['304']:.2f} ms", local["304"] / local["bare"]),
        ("bare route, in process", f"{local['bare']:.2f} ms", 1.0),
        ("list partial size, 50 rows", f"{local['raw_kb']:.0f} KB, gzip {local['gzip_kb']:.0f} KB"),
        ("list partial, gunicorn", f"{listing:.0f} req/s", f"{listing / bare:.0%} of bare"),
        ("304 refresh, gunicorn", f"{refresh:.0f} req/s", f"{refresh / bare:.0%} of bare"),
        ("bare route, gunicorn", f"{bare:.0f} req/s", "100%"),
        (
            f"open homepages, refresh every {REFRESH_S} s, p99 < {P99_GOAL_MS} ms",
            f"{best:,}{everyone}",
        ),
    ]
    print()
    print("| measure | value | against the bare route |")
    print("| --- | ---: | ---: |")
    for name, value, *against in rows:
        ratio = against[0] if against else ""
        shown = f"{ratio:.1f}x" if isinstance(ratio, float) else ratio
        print(f"| {name} | {value} | {shown} |")


if __name__ == "__main__":
    main(sys.argv[1:])
