"""Fault injection: make Open API paths fail on demand (tests, benchmarks, the demo).

A fault matches a path glob (e.g. "/open-apis/im/v1/messages*") and fires for the next N
calls or for S seconds: an HTTP 5xx, a hang of N seconds (then the call proceeds), or any
Lark error code (99991400 rate limit, 99991403 quota, 230002 ...) with its usual status.
"""

from __future__ import annotations

import fnmatch
import itertools
import threading
from dataclasses import dataclass
from typing import Any

from webapp.sandbox import decisions

_ids = itertools.count(1)
MESSAGES = {
    99991400: "request trigger frequency limit",
    99991403: "This month's API call quota has been exceeded",
    99991663: "Invalid access token for authorization. Please make a request with token attached.",
    230002: "The bot can not be outside the group.",
    230013: "Bot has NO availability to this user.",
    230020: "This operation triggers the frequency limit.",
    230018: "These operations are NOT allowed at current group settings.",
    230028: "The messages do NOT pass the audit.",
    230049: "The message is being sent.",
    232068: "The group is being created, please wait.",
    decisions.FAULT_SERVER_ERROR_CODE: "internal server error",
}


@dataclass
class Fault:
    id: int
    path: str
    status: int | None = None
    hang: float | None = None
    code: int | None = None
    times: int | None = None
    until: float | None = None

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, path: str, now: float, **kind: Any) -> Fault:
        seconds = kind.pop("seconds", None)
        if path.startswith("/_lark/"):
            path = path[len("/_lark") :]
        fault = Fault(next(_ids), path, until=now + float(seconds) if seconds else None, **kind)
        if fault.status is None and fault.hang is None and fault.code is None:
            raise ValueError("a fault needs status, hang or code")
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, path: str, now: float) -> Fault | None:
        """The first live fault for this path, using up one of its times."""
        with self._lock:
            self._faults = [f for f in self._faults if _alive(f, now)]
            for fault in self._faults:
                if fnmatch.fnmatchcase(path, fault.path):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def listing(self, now: float) -> list[dict[str, Any]]:
        with self._lock:
            return [f.as_json() for f in self._faults if _alive(f, now)]


def _alive(fault: Fault, now: float) -> bool:
    if fault.times is not None and fault.times <= 0:
        return False
    return fault.until is None or now < fault.until


def answer(fault: Fault) -> tuple[int, dict[str, Any], dict[str, str]]:
    """The response an erroring fault gives: status, JSON body, headers."""
    if fault.code is not None:
        status = fault.status or (429 if fault.code in (99991400, 99991403) else 400)
        headers = {}
        if fault.code == 99991400:
            headers = {"x-ogw-ratelimit-limit": "50", "x-ogw-ratelimit-reset": "1"}
        return status, {"code": fault.code, "msg": MESSAGES.get(fault.code, "error")}, headers
    body = {"code": decisions.FAULT_SERVER_ERROR_CODE, "msg": MESSAGES[20050]}
    return fault.status or 500, body, {}
