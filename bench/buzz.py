"""How long a Critical alert takes to ring a phone: alert -> card -> in-app buzz, as `make run`.

    python -m bench.buzz [--alerts 10]

The demo as `make run` starts it, on a SQLite file of its own in a temporary directory:
`flask db upgrade`, `flask demo load`, then `python -m webapp.devserver` (the web app with
the Lark sandbox, and the delivery worker beside it). Each alert in turn is posted to the
demo's Generic JSON intake as Critical; the sandbox's call log (`/_lark/_control/calls`)
gives the moment the first card was sent and the moment `urgent_app` was called for the card
sent to whoever is on call. It prints each alert's times and their median and worst.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.delivery import free_port

ROOT = Path(__file__).resolve().parent.parent
INTAKE_KEY = "demo-generic-3d7b15"
DATA_KEY = "YmVuY2gtb25seS1rZXktbm90LWEtcmVhbC1zZWNyZXQ="


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - loopback only
        return json.load(answer)


def _post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        return json.load(answer)


def _calls(base: str, path: str) -> list[dict[str, Any]]:
    return list(_get(f"{base}/_lark/_control/calls?path={path}")["calls"])


def _wait_up(base: str) -> None:
    for _ in range(300):
        try:
            _get(f"{base}/_lark/_control/calls")
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the demo server did not start")


def one_alert(base: str, n: int) -> tuple[float, float]:
    """(alert -> first card, alert -> buzz) in seconds, by the sandbox's own clock."""
    buzzes = len(_calls(base, "*/urgent_app"))
    sent_at = time.time()
    _post(
        f"{base}/api/v1/alerts/{INTAKE_KEY}",
        {"title": f"bench: db-{n} is down", "severity": "critical", "dedup_key": f"bench-{n}"},
    )
    deadline = time.time() + 60
    while len(urgent := _calls(base, "*/urgent_app")) == buzzes:
        if time.time() > deadline:
            raise SystemExit("no buzz within a minute")
        time.sleep(0.05)
    cards = [c for c in _calls(base, "/open-apis/im/v1/messages") if c["at"] >= sent_at]
    return cards[0]["at"] - sent_at, urgent[-1]["at"] - sent_at


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=10)
    args = parser.parse_args(argv)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "LARK_SANDBOX": "1",
            "PUBLIC_BASE_URL": base,
            "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "SECRET_KEY": "bench-only",
            "DATA_KEY": DATA_KEY,
        }
        env.pop("SMTP_URL", None)
        flask = [sys.executable, "-m", "flask", "--app", "app"]
        for step in (["db", "upgrade"], ["demo", "load"]):
            subprocess.run([*flask, *step], env=env, cwd=ROOT, check=True, capture_output=True)
        server = subprocess.Popen(
            [sys.executable, "-m", "webapp.devserver", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_up(base)
            times = [one_alert(base, n) for n in range(args.alerts)]
        finally:
            server.terminate()
            server.wait(timeout=20)
    for n, (card, buzz) in enumerate(times):
        print(f"alert {n}: card after {card:.2f} s, buzz after {buzz:.2f} s")
    cards, buzzes = [t[0] for t in times], [t[1] for t in times]
    print(
        f"alert -> card: median {statistics.median(cards):.2f} s, worst {max(cards):.2f} s; "
        f"alert -> buzz: median {statistics.median(buzzes):.2f} s, worst {max(buzzes):.2f} s"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
