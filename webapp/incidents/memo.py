"""Per-process memo stores of the incident list (built statements, looks, drawn rows):
plain dicts, bounded, each guarded by its owner's lock."""

from __future__ import annotations

from typing import Any


def keep(store: dict[Any, Any], key: Any, value: Any, limit: int) -> None:
    """Store in a bounded dict: when it is full, the oldest half goes. Callers hold its lock."""
    if len(store) >= limit:
        for old in list(store)[: limit // 2]:
            del store[old]
    store[key] = value
