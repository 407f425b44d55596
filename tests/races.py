"""Run several calls at the same moment, each in its own thread and app context (PostgreSQL
race tests: two clicks, two binds, two seat assignments at once)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from flask import Flask

from webapp.extensions import db


def run_together(app: Flask, calls: list[Callable[[Callable[[], None]], str]]) -> list[str]:
    """Each call gets `ready`, to call once its own reads are done; all continue together.

    Returns what each call returned, in order ("" if its thread did not finish).
    """
    start = threading.Barrier(len(calls))
    outcomes = [""] * len(calls)

    def run(index: int, call: Callable[[Callable[[], None]], str]) -> None:
        with app.app_context():
            try:
                outcomes[index] = call(start.wait)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes
