"""The one HTTP seam to Lark's Open API.

Every call goes through `LarkTransport._call`: timeout, tenant token (cached per app, shared
by threads), error classification into `LarkError`, and usage accounting. Accounting and the
integration's evidence columns are written on a separate short transaction, so the caller's
session (maybe mid-transaction, maybe about to roll back) is never touched. The calls
themselves are `LarkClient`'s methods (client.py).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from webapp.lark import usage
from webapp.lark.errors import (
    BAD_ANSWER_CODE,
    NETWORK_CODE,
    TOKEN_INVALID_CODES,
    LarkError,
)
from webapp.models import FailureReason

log = logging.getLogger(__name__)

# One pooled session for the process; requests' Session is safe for concurrent simple calls.
_http = requests.Session()

# Lark hands out a new tenant token only when < 30 min remain, so we refresh at that point;
# earlier requests would just return the same token (docs/lark/open-api.md#tenant-token).
TOKEN_REFRESH_MARGIN = 30 * 60
TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"  # noqa: S105 (a URL path)


class _TokenCache:
    """Tenant tokens per (Open API base, app id, secret digest), shared by every thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str, str], tuple[str, float]] = {}

    def get(self, key: tuple[str, str, str]) -> str | None:
        with self._lock:
            entry = self._tokens.get(key)
        if entry and entry[1] - time.time() > TOKEN_REFRESH_MARGIN:
            return entry[0]
        return None

    def put(self, key: tuple[str, str, str], token: str, expire: int) -> None:
        with self._lock:
            self._tokens[key] = (token, time.time() + expire)

    def drop(self, key: tuple[str, str, str]) -> None:
        with self._lock:
            self._tokens.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


token_cache = _TokenCache()


class LarkTransport:
    """One app's way into the Open API: its base URL, credentials and timeout."""

    def __init__(
        self,
        *,
        base_url: str,
        app_id: str,
        app_secret: str,
        timeout: float,
        integration_id: int | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self._secret = app_secret
        self.timeout = timeout
        self.integration_id = integration_id
        digest = hashlib.sha256(app_secret.encode()).hexdigest()[:16]
        # The secret is part of the key so that new credentials are never served an old token.
        self._cache_key = (self.base_url, app_id, digest)
        # Token fetches happen only in tenant_token(); _call needs to know to record evidence.
        self._fetching_token = False

    # -- tokens ----------------------------------------------------------------------

    def tenant_token(self) -> str:
        cached = token_cache.get(self._cache_key)
        if cached:
            return cached
        try:
            body = self._call(
                "POST",
                TOKEN_PATH,
                json={"app_id": self.app_id, "app_secret": self._secret},
                token=False,
            )
        except LarkError as exc:
            usage.token_failed(self.integration_id, f"{exc.code} {exc.msg}")
            raise
        token = body.get("tenant_access_token")
        if not isinstance(token, str) or not token:
            raise LarkError(BAD_ANSWER_CODE, "no tenant_access_token in answer", path=TOKEN_PATH)
        token_cache.put(self._cache_key, token, int(body.get("expire") or 0))
        usage.token_ok(self.integration_id)
        return token

    # -- the seam --------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        token: bool = True,
    ) -> dict[str, Any]:
        """One Lark call: the answer's JSON when `code` is 0, else a classified LarkError."""
        try:
            return self._attempt(method, path, json=json, params=params, token=token)
        except LarkError as exc:
            if not token or exc.code not in TOKEN_INVALID_CODES:
                raise
            # The cached token was revoked or expired early: fetch a new one, retry once.
            token_cache.drop(self._cache_key)
            try:
                return self._attempt(method, path, json=json, params=params, token=token)
            except LarkError as again:
                if again.code in TOKEN_INVALID_CODES:
                    raise LarkError(
                        again.code,
                        again.msg,
                        http_status=again.http_status,
                        reason=FailureReason.BAD_CREDENTIALS,
                        path=path,
                    ) from again
                raise

    def _attempt(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None,
        params: dict[str, Any] | None,
        token: bool,
    ) -> dict[str, Any]:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if token:
            headers["Authorization"] = f"Bearer {self.tenant_token()}"
        try:
            response = _http.request(
                method,
                self.base_url + path,
                json=json,
                params=params,
                headers=headers,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise LarkError(NETWORK_CODE, type(exc).__name__, path=path) from exc
        body = _json_of(response)
        code = body.get("code", 0 if response.ok else BAD_ANSWER_CODE)
        code = code if isinstance(code, int) else BAD_ANSWER_CODE
        if code == 0 and response.ok:
            usage.count_call(self.integration_id, path)
            return body
        error = LarkError(
            code,
            str(body.get("msg") or response.reason or ""),
            http_status=response.status_code,
            retry_after=_retry_after(response),
            path=path,
        )
        usage.note_failure(self.integration_id, path, error)
        log.info("lark %s %s -> %s", method, path, error)
        raise error


def _json_of(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _retry_after(response: requests.Response) -> float | None:
    """Seconds to wait: `x-ogw-ratelimit-reset` (Lark), else `Retry-After` (seconds or a date)."""
    for name in ("x-ogw-ratelimit-reset", "Retry-After"):
        raw = response.headers.get(name)
        if not raw:
            continue
        try:
            return max(0.0, float(raw))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(raw)
            return max(0.0, (when - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            continue
    return None
