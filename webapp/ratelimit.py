"""Named rate limits over the `limits` library.

Storage is in memory for one process, or Redis when REDIS_URL is set so that every web
process and worker on every host shares one budget. The limiter fails open: if Redis is
unreachable we log and allow, because refusing every sign-in or every notification is
worse than briefly exceeding a limit (the same choice as warehouse's rate limiter).
"""

from __future__ import annotations

import logging

from flask import Flask, current_app
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter, RateLimiter

log = logging.getLogger(__name__)

# Sign-in attempts: per e-mail address and per client address.
LOGIN_PER_ACCOUNT = parse("10/15 minutes")
LOGIN_PER_ADDRESS = parse("30/15 minutes")


class Limiter:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.strategy: RateLimiter = MovingWindowRateLimiter(storage)

    def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        """Count one use; False when the limit is already reached (nothing is counted then)."""
        try:
            return self.strategy.hit(item, *identifiers)
        except Exception:
            log.exception("rate limit storage failed; allowing")
            return True

    def test(self, item: RateLimitItem, *identifiers: str) -> bool:
        try:
            return self.strategy.test(item, *identifiers)
        except Exception:
            log.exception("rate limit storage failed; allowing")
            return True

    def reset(self) -> None:
        self.storage.reset()


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    storage = storage_from_string(url) if url else MemoryStorage()
    assert isinstance(storage, Storage)
    app.extensions["limiter"] = Limiter(storage)


def limiter() -> Limiter:
    limiter_: Limiter = current_app.extensions["limiter"]
    return limiter_
