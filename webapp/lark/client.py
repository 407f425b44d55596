"""The one HTTP seam to Lark's Open API.

Every call goes through `LarkClient._call`: timeout, tenant token (cached per app, shared by
threads), error classification into `LarkError`, and usage accounting. Accounting and the
integration's evidence columns are written on a separate short transaction, so the caller's
session (maybe mid-transaction, maybe about to roll back) is never touched.
"""

from __future__ import annotations

import hashlib
import json as jsonlib
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import requests
from flask import current_app

from webapp.lark import usage
from webapp.lark.errors import (
    BAD_ANSWER_CODE,
    NETWORK_CODE,
    TOKEN_INVALID_CODES,
    LarkError,
    buzz_error,
)
from webapp.models import FailureReason, LarkIntegration

log = logging.getLogger(__name__)

# One pooled session for the process; requests' Session is safe for concurrent simple calls.
_http = requests.Session()

# Lark hands out a new tenant token only when < 30 min remain (open-api.md 1.3), so we
# refresh at that point; earlier requests would just return the same token.
TOKEN_REFRESH_MARGIN = 30 * 60
TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"  # noqa: S105 (a URL path)
MAX_CHAT_PAGES = 50  # 5,000 chats: a bound on list_all_chats, far above any real tenant


@dataclass(frozen=True)
class SentMessage:
    message_id: str
    chat_id: str | None


@dataclass(frozen=True)
class Chat:
    chat_id: str
    name: str


@dataclass(frozen=True)
class ChatPage:
    items: list[Chat]
    page_token: str | None
    has_more: bool


@dataclass(frozen=True)
class AddMembersResult:
    invalid: list[str]
    not_existed: list[str]
    pending_approval: list[str]


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


class LarkClient:
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

    @classmethod
    def for_integration(cls, integration: LarkIntegration) -> LarkClient:
        return cls(
            base_url=integration.api_base_url,
            app_id=integration.app_id,
            app_secret=integration.app_secret,
            timeout=float(current_app.config["LARK_HTTP_TIMEOUT"]),
            integration_id=integration.id,
        )

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

    # -- messages --------------------------------------------------------------------

    def send_card(
        self, receive_id_type: str, receive_id: str, card: dict[str, Any], uuid: str
    ) -> SentMessage:
        body = self._call(
            "POST",
            "/open-apis/im/v1/messages",
            params={"receive_id_type": receive_id_type},
            json={
                "receive_id": receive_id,
                "msg_type": "interactive",
                "content": _compact(card),
                "uuid": uuid[:50],
            },
        )
        data = _data(body)
        usage.send_ok(self.integration_id)
        return SentMessage(message_id=str(data.get("message_id", "")), chat_id=data.get("chat_id"))

    def update_card(self, message_id: str, card: dict[str, Any]) -> None:
        self._call(
            "PATCH", f"/open-apis/im/v1/messages/{message_id}", json={"content": _compact(card)}
        )

    def delay_update(self, token: str, card: dict[str, Any]) -> None:
        """Update through a callback's `c-...` token (30 min, 2 uses); the card is an object."""
        self._call(
            "POST", "/open-apis/interactive/v1/card/update", json={"token": token, "card": card}
        )

    def buzz(self, message_id: str, via: str, open_ids: list[str]) -> list[str]:
        """Lark's urgent (加急) on a message the bot sent: `via` is app, sms or phone
        (docs/lark/urgent.md). Returns the open_ids Lark could not buzz; a refusal raises
        LarkError with a buzz reason (quota, group setting, 200 unread, scope, not in chat)."""
        try:
            body = self._call(
                "PATCH",
                f"/open-apis/im/v1/messages/{quote(message_id, safe='')}/urgent_{via}",
                params={"user_id_type": "open_id"},
                json={"user_id_list": open_ids},
            )
        except LarkError as exc:
            raise buzz_error(exc) from exc
        return [str(i) for i in _data(body).get("invalid_user_id_list") or []]

    # -- chats -----------------------------------------------------------------------

    def list_chats(self, page_token: str | None = None, page_size: int = 100) -> ChatPage:
        params: dict[str, Any] = {"page_size": page_size}
        if page_token:
            params["page_token"] = page_token
        data = _data(self._call("GET", "/open-apis/im/v1/chats", params=params))
        items = [
            Chat(chat_id=str(item.get("chat_id", "")), name=str(item.get("name", "")))
            for item in data.get("items") or []
        ]
        return ChatPage(
            items=items,
            page_token=data.get("page_token") or None,
            has_more=bool(data.get("has_more")),
        )

    def list_all_chats(self) -> list[Chat]:
        chats: list[Chat] = []
        page_token: str | None = None
        for _page in range(MAX_CHAT_PAGES):
            page = self.list_chats(page_token)
            chats.extend(page.items)
            if not page.has_more or not page.page_token:
                break
            page_token = page.page_token
        usage.chats_listed(self.integration_id, len(chats))
        return chats

    def create_chat(self, name: str, open_ids: Iterable[str], uuid: str) -> str:
        body = self._call(
            "POST",
            "/open-apis/im/v1/chats",
            params={"user_id_type": "open_id", "uuid": uuid[:50]},
            json={"name": name, "user_id_list": list(open_ids)},
        )
        return str(_data(body).get("chat_id", ""))

    def add_chat_members(self, chat_id: str, open_ids: Iterable[str]) -> AddMembersResult:
        body = self._call(
            "POST",
            f"/open-apis/im/v1/chats/{chat_id}/members",
            # 1: add the usable ids, list the rest (0, the default, fails the whole call).
            params={"member_id_type": "open_id", "succeed_type": 1},
            json={"id_list": list(open_ids)},
        )
        data = _data(body)
        return AddMembersResult(
            invalid=list(data.get("invalid_id_list") or []),
            not_existed=list(data.get("not_existed_id_list") or []),
            pending_approval=list(data.get("pending_approval_id_list") or []),
        )

    # -- contacts --------------------------------------------------------------------

    def batch_get_id(
        self, emails: Iterable[str] = (), mobiles: Iterable[str] = ()
    ) -> dict[str, str | None]:
        """address -> open_id, or None when Lark does not know it or may not show it."""
        email_list, mobile_list = list(emails), list(mobiles)
        found: dict[str, str | None] = {a: None for a in email_list + mobile_list}
        if not found:
            return found
        body = self._call(
            "POST",
            "/open-apis/contact/v3/users/batch_get_id",
            params={"user_id_type": "open_id"},
            json={"emails": email_list, "mobiles": mobile_list, "include_resigned": False},
        )
        for entry in _data(body).get("user_list") or []:
            address = entry.get("email") or entry.get("mobile")
            if address in found:
                found[address] = entry.get("user_id") or None
        return found

    def user_name(self, open_id: str) -> str | None:
        """A Lark user's display name (contact/v3/users/:user_id, scope
        contact:user.base:readonly); None when the answer carries none."""
        body = self._call(
            "GET",
            f"/open-apis/contact/v3/users/{quote(open_id, safe='')}",
            params={"user_id_type": "open_id"},
        )
        user = _data(body).get("user") or {}
        name = user.get("name") if isinstance(user, dict) else None
        return str(name) if name else None

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


def _compact(card: dict[str, Any]) -> str:
    return jsonlib.dumps(card, ensure_ascii=False, separators=(",", ":"))


def _data(body: dict[str, Any]) -> dict[str, Any]:
    data = body.get("data")
    return data if isinstance(data, dict) else {}


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
