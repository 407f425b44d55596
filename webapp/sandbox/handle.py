"""A Python handle on the sandbox for tests, benchmarks and demo scripts (same process).

`tests/sandbox_fixtures.py` hands one out as the `lark` fixture; control.py offers the
same verbs over HTTP for other processes.
"""

from __future__ import annotations

import fnmatch
import json
import secrets
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import requests
from flask import Flask

from webapp.sandbox import callbacks, cards, events, limits, oauth, seed, state, talk, url_check
from webapp.sandbox.state import App, Call, Chat, ChatState, Edition, Sandbox, User


@dataclass
class ReceivedMessage:
    """A message as its receivers see it now (after any updates)."""

    message_id: str
    chat_id: str
    app_id: str
    msg_type: str
    uuid: str
    content: str
    updates: int

    @property
    def card(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.content)
        return parsed

    @property
    def view(self) -> cards.CardView:
        return cards.view(self.card)

    @property
    def title(self) -> str:
        return self.view.title

    @property
    def buttons(self) -> list[str]:
        return [i.label for i in self.view.interactives]


class AppHandle:
    def __init__(self, handle: LarkSandbox, app_id: str) -> None:
        self._handle, self.app_id = handle, app_id

    @property
    def app(self) -> App:
        return self._handle.sandbox.apps[self.app_id]

    def configure(self, **settings: Any) -> AppHandle:
        """card_request_url, redirect_urls, homepage_url, visibility (open_ids or None),
        encrypt_key, verification_token, app_secret, callbacks, name; and for the app's
        tenant: edition ("free"/"paid"), monthly_quota, usage (this month's counted calls)."""
        sandbox = self._handle.sandbox
        tenant_fields = {
            k: settings.pop(k) for k in ("edition", "monthly_quota", "usage") if k in settings
        }
        with sandbox.lock:
            app = sandbox.apps[self.app_id]
            for key, value in settings.items():
                if not hasattr(app, key):
                    raise AttributeError(f"sandbox apps have no setting {key!r}")
                setattr(
                    app,
                    key,
                    set(value)
                    if key in ("visibility", "callbacks") and value is not None
                    else value,
                )
        if tenant_fields:
            self._handle.set_quota(self.app.tenant_key, **tenant_fields)
        return self

    def verify_url(self, url: str) -> tuple[bool, str]:
        """Save the card request URL as the console does (url_verification, 1 s)."""
        return url_check.verify_url(self._handle.sandbox, self.app_id, url)

    def verify_event_url(self, url: str) -> tuple[bool, str]:
        """Save the event request URL as the console does (url_verification, 1 s)."""
        return url_check.verify_url(self._handle.sandbox, self.app_id, url, events=True)


class LarkSandbox:
    def __init__(self, flask_app: Flask) -> None:
        self.flask_app = flask_app

    @property
    def sandbox(self) -> Sandbox:
        with self.flask_app.app_context():
            return state.get()

    @property
    def base_url(self) -> str:
        return f"{self.flask_app.config['PUBLIC_BASE_URL']}/_lark"

    # --- apps, people, chats ------------------------------------------------------------
    def app(self, app_id: str = seed.DEMO_APP_ID) -> AppHandle:
        if app_id not in self.sandbox.apps:
            raise KeyError(f"no sandbox app {app_id}")
        return AppHandle(self, app_id)

    def create_app(
        self, name: str = "On-call", tenant_key: str = seed.TENANT_KEY, **settings: Any
    ) -> AppHandle:
        created = self.sandbox.create_app(name, tenant_key)
        return AppHandle(self, created.app_id).configure(**settings)

    def user(self, open_id: str) -> User:
        return self.sandbox.users[open_id]

    def add_user(
        self, name: str, email: str, mobile: str = "", tenant_key: str = seed.TENANT_KEY
    ) -> User:
        """A new person, visible to every app of the tenant whose range is not restricted."""
        person = seed.SeedUser(name, name, email, mobile, tenant_key)
        user = User(
            person.open_id, person.union_id, person.user_id, name, name, email, mobile, tenant_key
        )
        sandbox = self.sandbox
        sandbox.add_user(user)
        with sandbox.lock:
            for app in sandbox.apps.values():
                if app.visibility is not None and app.tenant_key == tenant_key:
                    app.visibility.add(user.open_id)
        return user

    def create_chat(
        self, name: str, members: list[str], *, bot: str | None = seed.DEMO_APP_ID
    ) -> Chat:
        chat = Chat(
            "oc_" + secrets.token_hex(16),
            name,
            seed.TENANT_KEY,
            list(members),
            {bot} if bot else set(),
        )
        with self.sandbox.lock:
            self.sandbox.chats[chat.chat_id] = chat
        return chat

    def set_bot_in_chat(self, chat_id: str, present: bool, app_id: str = seed.DEMO_APP_ID) -> None:
        with self.sandbox.lock:
            bots = self.sandbox.chats[chat_id].bots
            bots.add(app_id) if present else bots.discard(app_id)

    def dissolve_chat(self, chat_id: str) -> None:
        with self.sandbox.lock:
            self.sandbox.chats[chat_id].status = ChatState.DISSOLVED

    # --- people acting in groups: Lark sends the events (webapp/sandbox/talk.py) ----------
    def add_bot(self, chat_id: str, by: str, app_id: str = seed.DEMO_APP_ID) -> events.Sent | None:
        return talk.set_bot(self.sandbox, chat_id, app_id, by, True)

    def remove_bot(
        self, chat_id: str, by: str, app_id: str = seed.DEMO_APP_ID
    ) -> events.Sent | None:
        return talk.set_bot(self.sandbox, chat_id, app_id, by, False)

    def disband(self, chat_id: str, by: str, keep_history: bool = False) -> list[events.Sent]:
        return talk.dissolve(self.sandbox, chat_id, by, keep_history)

    def say(
        self, chat_id: str, by: str, text: str, *, at: tuple[str, ...] = (seed.DEMO_APP_ID,)
    ) -> tuple[ReceivedMessage, list[events.Sent]]:
        """`by` writes `text` in the chat, @mentioning the bots of `at`."""
        message, sent = talk.say(self.sandbox, chat_id, by, text, list(at))
        return self.message(message.message_id), sent

    def events_sent(self, event_type: str | None = None) -> list[events.Sent]:
        with self.sandbox.lock:
            sent = list(self.sandbox.events_sent)
        return [s for s in sent if event_type is None or s.event_type == event_type]

    def push_again(self, sent: events.Sent) -> events.Sent:
        """Lark's duplicate push: the same event under a new event_id."""
        return events.push_again(self.sandbox, sent)

    def redeliver(self, sent: events.Sent) -> events.Sent:
        """Lark's retry: the same event (same event_id, same signed bytes) again, now."""
        return events.redeliver(self.sandbox, sent)

    def retry_events(self) -> list[events.Sent]:
        """Push Lark's automatic retries that are due (15 s, 5 min, 1 h, 6 h after a push
        that got no 200), as of the sandbox's clock."""
        return events.retry_due(self.sandbox)

    # --- what the product sent ----------------------------------------------------------
    def messages_to(self, receiver: str, app_id: str | None = None) -> list[ReceivedMessage]:
        """Messages in a chat (chat_id) or in a person's direct chats with bots (open_id)."""
        sandbox = self.sandbox
        with sandbox.lock:
            if receiver in sandbox.chats:
                chat_ids = {receiver}
            else:
                chat_ids = {
                    c.chat_id for c in sandbox.chats.values() if c.p2p and receiver in c.members
                }
            found = [m for m in sandbox.messages.values() if m.chat_id in chat_ids]
            found = [m for m in found if app_id is None or m.app_id == app_id]
            found.sort(key=lambda m: (m.created_at, m.message_id))
            return [
                ReceivedMessage(
                    m.message_id, m.chat_id, m.app_id, m.msg_type, m.uuid, m.content, len(m.history)
                )
                for m in found
            ]

    def message(self, message_id: str) -> ReceivedMessage:
        m = self.sandbox.messages[message_id]
        return ReceivedMessage(
            m.message_id, m.chat_id, m.app_id, m.msg_type, m.uuid, m.content, len(m.history)
        )

    def calls(self, path: str | None = None, method: str | None = None) -> list[Call]:
        """Open API calls received, oldest first; `path` is a glob without /_lark."""
        sandbox = self.sandbox
        with sandbox.lock:
            logged = list(sandbox.calls)
        return [
            c
            for c in logged
            if (path is None or fnmatch.fnmatchcase(c.path, path))
            and (method is None or c.method == method)
        ]

    # --- acting as a Lark user ----------------------------------------------------------
    def recall(self, message_id: str, deleted: bool = False) -> None:
        """Someone recalled (or deleted) the message: updating it answers 230011 (230110)."""
        with self.sandbox.lock:
            self.sandbox.messages[message_id].gone = "deleted" if deleted else "recalled"

    def pressing(self, message_id: str) -> AbstractContextManager[None]:
        """Someone's press of this card is in flight for as long as the block runs."""
        return callbacks.pressing(self.sandbox, self.sandbox.messages[message_id])

    def click(
        self,
        message_id: str,
        open_id: str,
        value: Any = None,
        *,
        button: str | None = None,
        option: str | None = None,
    ) -> callbacks.ClickResult:
        """Press a button on a card as `open_id`: the callback goes to the app's card URL."""
        item = self._find(message_id, value, button)
        return callbacks.click(self.sandbox, message_id, open_id, item, value, option)

    def _find(self, message_id: str, value: Any, button: str | None) -> cards.Interactive | None:
        items = self.message(message_id).view.interactives
        for item in items:
            if (button is not None and item.label == button) or (
                button is None and item.value == value
            ):
                return item
        if button is not None:
            raise LookupError(f"no button {button!r}; the card has {[i.label for i in items]}")
        return None

    def oauth_code(
        self,
        open_id: str,
        redirect_uri: str | None,
        *,
        app_id: str = seed.DEMO_APP_ID,
        code_challenge: str = "",
        method: str = "S256",
        scope: str = "",
    ) -> str:
        """A code as the authorize page would give it (5 minutes, single use)."""
        return oauth.issue_code(
            self.sandbox,
            app_id,
            open_id,
            redirect_uri,
            scope=scope,
            code_challenge=code_challenge,
            method=method if code_challenge else "plain",
        )

    def client_session(
        self, open_id: str, *, phone: bool = False, locale: str = "en_US"
    ) -> requests.Session:
        """A `requests` session acting as the Lark client of `open_id`: Lark's user agent
        (in `locale`: tests read English unless they ask), signed in to the sandbox (so the
        authorize page consents silently, as in Lark)."""
        session = requests.Session()
        session.headers["User-Agent"] = seed.user_agent(phone, locale)
        answer = session.post(
            f"{self.base_url}/sign-in", data={"open_id": open_id}, allow_redirects=False, timeout=10
        )
        answer.raise_for_status()
        return session

    def open_workbench(
        self,
        open_id: str,
        app_id: str = seed.DEMO_APP_ID,
        *,
        phone: bool = False,
        locale: str = "en_US",
    ) -> requests.Response:
        """Open the app's homepage from the workbench as `open_id`; redirects are followed
        (through the product's OAuth and back), the last page is returned."""
        session = self.client_session(open_id, phone=phone, locale=locale)
        return session.get(f"{self.base_url}/workbench/{app_id}/open", timeout=10)

    # --- limits, quota, faults, clock ---------------------------------------------------
    def limits(self, enabled: bool) -> None:
        self.sandbox.limits.enabled = enabled
        self.sandbox.limits.clear()

    def set_quota(
        self,
        tenant_key: str = seed.TENANT_KEY,
        *,
        edition: str | None = None,
        monthly_quota: int | None = None,
        usage: int | None = None,
    ) -> None:
        sandbox = self.sandbox
        with sandbox.lock:
            tenant = sandbox.tenants[tenant_key]
            tenant.edition = Edition(edition) if edition else tenant.edition
            tenant.monthly_quota = (
                monthly_quota if monthly_quota is not None else tenant.monthly_quota
            )
            if usage is not None:
                tenant.usage[limits.month_of(sandbox.now())] = usage

    def set_buzz_quota(
        self, tenant_key: str = seed.TENANT_KEY, quota: int | None = None, used: int | None = None
    ) -> None:
        """The tenant's SMS + phone buzz quota a month, and this month's buzzes so far."""
        sandbox = self.sandbox
        with sandbox.lock:
            tenant = sandbox.tenants[tenant_key]
            if quota is not None:
                tenant.buzz_quota = int(quota)
            if used is not None:
                tenant.buzz_used[limits.month_of(sandbox.now())] = int(used)

    def buzz_usage(self, tenant_key: str = seed.TENANT_KEY) -> dict[str, int]:
        sandbox = self.sandbox
        with sandbox.lock:
            tenant = sandbox.tenants[tenant_key]
            used = tenant.buzz_used.get(limits.month_of(sandbox.now()), 0)
            return {"quota": tenant.buzz_quota, "used": used}

    def set_scopes(self, app_id: str, scopes: list[str]) -> None:
        with self.sandbox.lock:
            self.sandbox.apps[app_id].scopes = set(scopes)

    def set_chat_urgent(self, chat_id: str, setting: str, bot_admin: bool = False) -> None:
        sandbox = self.sandbox
        with sandbox.lock:
            chat = sandbox.chats[chat_id]
            chat.urgent_setting = setting
            chat.admins = set(chat.bots) if bot_admin else set()

    def buzzes(self, open_id: str | None = None) -> list[state.Buzz]:
        """Every buzz the sandbox rang (for one person), oldest first."""
        with self.sandbox.lock:
            return [b for b in self.sandbox.buzzes if open_id is None or b.open_id == open_id]

    def usage(self, tenant_key: str = seed.TENANT_KEY) -> int:
        sandbox = self.sandbox
        with sandbox.lock:
            return sandbox.tenants[tenant_key].usage.get(limits.month_of(sandbox.now()), 0)

    def fail(
        self,
        path: str,
        *,
        status: int | None = None,
        hang: float | None = None,
        code: int | None = None,
        times: int | None = None,
        seconds: float | None = None,
    ) -> None:
        """Make calls to `path` (a glob, e.g. "/open-apis/im/v1/messages*") fail."""
        sandbox = self.sandbox
        sandbox.faults.add(
            path, sandbox.now(), status=status, hang=hang, code=code, times=times, seconds=seconds
        )

    def clear_faults(self) -> None:
        self.sandbox.faults.clear()

    def advance(self, seconds: float) -> None:
        """Move Lark's clock on: tokens, codes, uuids and card tokens age."""
        self.sandbox.advance(seconds)

    def reset(self) -> None:
        with self.flask_app.app_context():
            state.reset()
