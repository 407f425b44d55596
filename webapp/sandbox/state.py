"""The sandbox's in-memory Lark: tenants, people, apps, chats, messages, and a call log.

One `Sandbox` per web process, guarded by one re-entrant lock. Code that changes it holds
`sandbox.lock`; nothing holds the lock while making an HTTP call (the product may call
back into the sandbox meanwhile). Tests reset it between cases through
app.extensions["test_resets"].
"""

from __future__ import annotations

import enum
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from webapp.sandbox import decisions, seed
from webapp.sandbox.faults import Faults
from webapp.sandbox.limits import RateLimits

URGENT_SCOPES = ("im:message.urgent", "im:message.urgent:sms", "im:message.urgent:phone")


class CardCallback(enum.StrEnum):
    """The two card callback channels by event type (docs/lark/callbacks.md#two-channels)."""

    NEW = "card.action.trigger"
    OLD = "card.action.trigger_v1"


CARD_CALLBACKS = tuple(CardCallback)
# The events the sandbox can send (schema 2.0) to an app's event request URL.
CHAT_EVENTS = (
    "im.chat.member.bot.added_v1",
    "im.chat.member.bot.deleted_v1",
    "im.chat.disbanded_v1",
    "im.message.receive_v1",
)


class ChatState(enum.StrEnum):
    NORMAL = "normal"
    DISSOLVED = "dissolved"
    DISSOLVED_SAVE = "dissolved_save"  # dissolved with the history kept for members


class Edition(enum.StrEnum):
    FREE = "free"  # the monthly quota applies
    PAID = "paid"


@dataclass
class User:
    open_id: str
    union_id: str
    user_id: str
    name: str
    en_name: str
    email: str
    mobile: str
    tenant_key: str
    locale: str = "zh_CN"
    resigned: bool = False


@dataclass
class Tenant:
    key: str
    name: str
    edition: Edition = field(default_factory=lambda: Edition.FREE)
    monthly_quota: int = decisions.FREE_MONTHLY_QUOTA
    usage: dict[str, int] = field(default_factory=dict)  # "2026-11" -> counted calls
    # Words the tenant's data-loss-prevention audit refuses in a message (230028).
    dlp_words: set[str] = field(default_factory=set)
    buzz_quota: int = decisions.BUZZ_MONTHLY_QUOTA  # SMS + phone buzzes a month
    buzz_used: dict[str, int] = field(default_factory=dict)  # "2026-11" -> SMS + phone buzzes


@dataclass
class App:
    app_id: str
    name: str
    tenant_key: str
    app_secret: str
    verification_token: str
    encrypt_key: str = ""
    homepage_url: str = ""
    card_request_url: str = ""
    callbacks: set[str] = field(default_factory=lambda: {CardCallback.NEW})
    redirect_urls: list[str] = field(default_factory=list)
    visibility: set[str] | None = None  # open_ids; None = everyone in the tenant
    url_check: str = ""  # the last url_verification outcome, in words
    url_verified: bool = False
    event_request_url: str = ""
    events: set[str] = field(default_factory=set)  # subscribed CHAT_EVENTS
    event_url_check: str = ""
    # The scopes granted in the developer console (decisions.DEFAULT_SCOPES by default) and
    # the urgent (加急) scopes the tenant admin approved; the seeded demo app has them all.
    scopes: set[str] = field(
        default_factory=lambda: set(decisions.DEFAULT_SCOPES) | set(URGENT_SCOPES)
    )
    disabled: bool = False  # stopped by the tenant admin: tokens answer 10014

    @property
    def bot_open_id(self) -> str:
        """The bot's own open_id, as mentions of it carry."""
        return "ou_" + seed._digest("bot", self.app_id, 32)


@dataclass
class Chat:
    chat_id: str
    name: str
    tenant_key: str
    members: list[str]  # open_ids
    bots: set[str]  # app_ids
    description: str = ""
    p2p: bool = False
    status: ChatState = field(
        default_factory=lambda: ChatState.NORMAL
    )  # DISSOLVED_SAVE: the history kept
    owner_id: str = ""
    # The group setting "only the owner and admins may speak", and the bots made admins.
    only_admins_speak: bool = False
    admin_bots: set[str] = field(default_factory=set)
    # Group setting 谁可以加急: "all_members", or "only_owner" (owner and admins only)
    urgent_setting: str = "all_members"
    admins: set[str] = field(default_factory=set)  # app_ids and open_ids made admins


@dataclass
class Message:
    message_id: str
    app_id: str
    chat_id: str
    msg_type: str
    content: str  # the JSON string, as sent or last updated
    created_at: float
    updated_at: float
    uuid: str = ""
    sender_id: str = ""  # a person's open_id when a person wrote it (app_id is then "")
    mentions: list[str] = field(default_factory=list)  # app_ids of the bots @mentioned
    history: list[str] = field(default_factory=list)  # earlier contents, oldest first
    # The last press's answer, shown to the person who pressed only (by open_id).
    toasts: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    pressed: int = 0  # presses in flight: a JSON 2.0 card is locked against PATCH meanwhile
    gone: str = ""  # "recalled" or "deleted": it can no longer be updated

    def revisions(self) -> list[str]:
        """Every content this message has shown, oldest first; the index is its revision."""
        return [*self.history, self.content]


class BuzzVia(enum.StrEnum):
    """The three urgent endpoints (docs/lark/urgent.md)."""

    APP = "app"
    SMS = "sms"
    PHONE = "phone"


@dataclass
class Buzz:
    """One urgent (加急) call's ring for one person, until they open the chat."""

    message_id: str
    open_id: str
    via: BuzzVia
    at: float
    read: bool = False


@dataclass
class CardToken:
    token: str
    message_id: str
    app_id: str
    created_at: float
    uses: int = 0


@dataclass
class Call:
    at: float
    method: str
    path: str  # without the /_lark prefix, e.g. /open-apis/im/v1/messages
    query: dict[str, str]
    body: Any
    status: int
    code: int | None
    app_id: str | None


class Sandbox:
    def __init__(self, base_url: str) -> None:
        self.lock = threading.RLock()
        self.base_url = base_url
        self.clock_offset = 0.0
        self.tenants: dict[str, Tenant] = {}
        self.users: dict[str, User] = {}  # by open_id
        self.apps: dict[str, App] = {}
        self.chats: dict[str, Chat] = {}
        self.messages: dict[str, Message] = {}
        self.uuids: dict[tuple[str, str], tuple[str, float]] = {}  # (app, uuid) -> (msg, at)
        self.chat_uuids: dict[tuple[str, str], tuple[str, float]] = {}
        self.chats_building: set[tuple[str, str]] = set()  # (app, uuid) of creates running
        self.chat_build_seconds = 0.0  # how long a create takes (tests make it slow)
        self.card_tokens: dict[str, CardToken] = {}
        self.buzzes: list[Buzz] = []
        self.refresh_tokens: dict[tuple[str, str], str] = {}  # X-Refresh-Token per click
        self.oauth_codes: dict[str, Any] = {}
        self.used_refresh: set[str] = set()
        self.current_tenant_token: dict[str, tuple[str, float]] = {}
        self.calls: deque[Call] = deque(maxlen=20_000)
        self.events_sent: deque[Any] = deque(maxlen=2_000)  # webapp/sandbox/events.py
        self.event_retries: list[tuple[float, Any]] = []  # (due, Sent) Lark will push again
        self.limits = RateLimits()
        self.faults = Faults()
        _seed(self)

    def now(self) -> float:
        return time.time() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move the sandbox's clock forward (tokens, codes and uuids age)."""
        with self.lock:
            self.clock_offset += seconds

    # --- lookups (callers hold the lock) -------------------------------------------------
    def visible(self, app: App, user: User) -> bool:
        """Inside the app's availability range (可用范围)."""
        if user.tenant_key != app.tenant_key or user.resigned:
            return False
        return app.visibility is None or user.open_id in app.visibility

    def find_user(self, id_type: str, value: str) -> User | None:
        for user in self.users.values():
            if getattr(user, id_type, None) == value:
                return user
        return None

    def p2p_chat(self, app: App, user: User) -> Chat:
        chat_id = "oc_" + seed._digest("p2p", app.app_id + user.open_id, 32)
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = Chat(chat_id, app.name, app.tenant_key, [user.open_id], {app.app_id}, p2p=True)
            self.chats[chat_id] = chat
        return chat

    def chats_of(self, open_id: str) -> list[Chat]:
        return [c for c in self.chats.values() if open_id in c.members]

    def messages_in(self, chat_id: str) -> list[Message]:
        return sorted(
            (m for m in self.messages.values() if m.chat_id == chat_id),
            key=lambda m: (m.created_at, m.message_id),
        )

    def add_user(self, user: User) -> User:
        with self.lock:
            self.users[user.open_id] = user
        return user

    def create_app(self, name: str, tenant_key: str = seed.TENANT_KEY, **config: Any) -> App:
        app = App(
            app_id="cli_" + secrets.token_hex(8),
            name=name,
            tenant_key=tenant_key,
            app_secret=secrets.token_urlsafe(24),
            verification_token=secrets.token_urlsafe(18),
            encrypt_key=secrets.token_urlsafe(18),
        )
        for key, value in config.items():
            setattr(app, key, value)
        with self.lock:
            self.apps[app.app_id] = app
        return app


def _seed(sandbox: Sandbox) -> None:
    sandbox.tenants[seed.TENANT_KEY] = Tenant(seed.TENANT_KEY, seed.TENANT_NAME)
    sandbox.tenants[seed.OTHER_TENANT_KEY] = Tenant(seed.OTHER_TENANT_KEY, seed.OTHER_TENANT_NAME)
    for person in seed.USERS:
        sandbox.users[person.open_id] = User(
            person.open_id,
            person.union_id,
            person.user_id,
            person.name,
            person.en_name,
            person.email,
            person.mobile,
            person.tenant_key,
            person.locale,
        )
    sandbox.apps[seed.DEMO_APP_ID] = _demo_app(sandbox.base_url)
    for chat in seed.CHATS:
        sandbox.chats[chat.chat_id] = Chat(
            chat.chat_id,
            chat.name,
            seed.TENANT_KEY,
            [u.open_id for u in chat.members],
            {seed.DEMO_APP_ID} if chat.bot_member else set(),
            description=chat.description,
            owner_id=chat.members[0].open_id,
        )


def _demo_app(base_url: str) -> App:
    product = f"{base_url}/lark/{seed.DEMO_INTEGRATION_KEY}"
    in_range = {u.open_id for u in seed.USERS if u.tenant_key == seed.TENANT_KEY}
    return App(
        app_id=seed.DEMO_APP_ID,
        name=seed.DEMO_APP_NAME,
        tenant_key=seed.TENANT_KEY,
        app_secret=seed.DEMO_APP_SECRET,
        verification_token=seed.DEMO_VERIFICATION_TOKEN,
        encrypt_key=seed.DEMO_ENCRYPT_KEY,
        homepage_url=f"{product}/",
        card_request_url=f"{product}/card",
        event_request_url=f"{product}/events",
        events=set(CHAT_EVENTS),
        redirect_urls=[f"{product}/", f"{product}/oauth/callback"],
        visibility=in_range - {seed.OUT_OF_RANGE_USER.open_id},
    )


def get() -> Sandbox:
    """The sandbox of the current app, built (and seeded) on first use."""
    extensions = current_app.extensions
    sandbox: Sandbox | None = extensions.get("lark_sandbox")
    if sandbox is None:
        sandbox = Sandbox(str(current_app.config["PUBLIC_BASE_URL"]))
        extensions["lark_sandbox"] = sandbox
    return sandbox


def reset() -> None:
    """Forget everything and seed again (tests call this between cases)."""
    current_app.extensions.pop("lark_sandbox", None)
