"""The one client of Lark's Open API: the calls the product makes (cards, chats, users) and
what they answer, each through the seam in transport.py (timeout, tenant token, typed
`LarkError`, usage accounting).
"""

from __future__ import annotations

import json as jsonlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import current_app

from webapp.lark import usage
from webapp.lark.errors import LarkError, buzz_error
from webapp.lark.transport import LarkTransport
from webapp.models import LarkIntegration

log = logging.getLogger(__name__)

NO_VALID_MEMBERS = 232027  # add members: none of the ids can be added (docs/lark/chats.md)
MAX_CHAT_PAGES = 50  # 5,000 chats: a bound on list_all_chats, far above any real tenant


@dataclass(frozen=True)
class SentMessage:
    message_id: str
    chat_id: str | None


# Lark's chat list also lists chats that were dissolved (`chat_status` "dissolved", or
# "dissolved_save" when members kept the history); only "normal" chats can take a message.
LIVE_CHAT_STATUS = "normal"


@dataclass(frozen=True)
class Chat:
    chat_id: str
    name: str
    dissolved: bool = False


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


class LarkClient(LarkTransport):
    """The Open API methods the product calls; each is one `_call` through the seam."""

    @classmethod
    def for_integration(cls, integration: LarkIntegration) -> LarkClient:
        return cls(
            base_url=integration.api_base_url,
            app_id=integration.app_id,
            app_secret=integration.app_secret,
            timeout=float(current_app.config["LARK_HTTP_TIMEOUT"]),
            integration_id=integration.id,
        )

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
            Chat(
                chat_id=str(item.get("chat_id", "")),
                name=str(item.get("name", "")),
                # A status we do not know is taken as gone: paging a dead chat fails late.
                dissolved=str(item.get("chat_status") or LIVE_CHAT_STATUS) != LIVE_CHAT_STATUS,
            )
            for item in data.get("items") or []
        ]
        return ChatPage(
            items=items,
            page_token=data.get("page_token") or None,
            has_more=bool(data.get("has_more")),
        )

    def list_all_chats(self) -> list[Chat]:
        """Every chat Lark lists for the bot, dissolved ones included (marked `dissolved`)."""
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
        ids = list(open_ids)
        try:
            body = self._call(
                "POST",
                f"/open-apis/im/v1/chats/{chat_id}/members",
                # 1: add the usable ids, list the rest (0, the default, fails the whole call).
                params={"member_id_type": "open_id", "succeed_type": 1},
                json={"id_list": ids},
            )
        except LarkError as exc:
            if exc.code != NO_VALID_MEMBERS:
                raise
            # Nobody among the ids was usable: the same as Lark listing every one invalid.
            return AddMembersResult(invalid=ids, not_existed=[], pending_approval=[])
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
        # Lark may echo an address normalised (case, the +86 prefix): match on the same key.
        asked = {_address_key(a): a for a in found}
        for entry in _data(body).get("user_list") or []:
            address = asked.get(_address_key(str(entry.get("email") or entry.get("mobile"))))
            if address is not None:
                found[address] = entry.get("user_id") or None
        return found

    def user_name(self, open_id: str) -> str | None:
        """A Lark user's display name (contact/v3/users/:user_id; the call needs one of the
        contact:contact.base:readonly family, and the name field contact:user.base:readonly,
        docs/lark/contacts.md); None when the answer carries none."""
        body = self._call(
            "GET",
            f"/open-apis/contact/v3/users/{quote(open_id, safe='')}",
            params={"user_id_type": "open_id"},
        )
        user = _data(body).get("user") or {}
        name = user.get("name") if isinstance(user, dict) else None
        return str(name) if name else None


def _address_key(address: str) -> str:
    """An e-mail in lower case; a mobile as its digits, mainland numbers without 86."""
    if "@" in address:
        return address.strip().lower()
    digits = "".join(c for c in address if c.isdigit())
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


def wire_bytes(card: dict[str, Any]) -> int:
    """The bytes `card` takes in a send's request body: the compact JSON string as
    `requests` writes it (non-ASCII escaped as \\uXXXX, quotes escaped again)."""
    return len(jsonlib.dumps(_compact(card)).encode())


def _compact(card: dict[str, Any]) -> str:
    return jsonlib.dumps(card, ensure_ascii=False, separators=(",", ":"))


def _data(body: dict[str, Any]) -> dict[str, Any]:
    data = body.get("data")
    return data if isinstance(data, dict) else {}
