"""Per-process memo stores of the incident list (built statements, looks, drawn rows): a
bounded dict with its lock. When full, the oldest half goes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Store(Generic[V]):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: dict[Hashable, V] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            return self._items.get(key)

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            if len(self._items) >= self.limit:
                for old in list(self._items)[: self.limit // 2]:
                    del self._items[old]
            self._items[key] = value

    def get_or_make(self, key: Hashable, make: Callable[[], V]) -> V:
        """The stored value, or `make()` stored (made outside the lock: two threads may both
        make it, and the values are equal)."""
        found = self.get(key)
        if found is None:
            found = make()
            self.put(key, found)
        return found

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
