"""The sandbox's seeded Lark world: one tenant, its people and chats, and the demo app.

Tests and the product's demo hook import these constants; the ids are fixed (derived from
each person's address) so that a binding made in one run still names the same Lark user
in the next.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

TENANT_KEY = "2ed263bf32cf1651"
TENANT_NAME = "Acme 科技"
OTHER_TENANT_KEY = "736588c9260f175d"
OTHER_TENANT_NAME = "Globex 集团"

DEMO_APP_ID = "cli_sandbox_oncall"
DEMO_APP_NAME = "On-call"
DEMO_APP_SECRET = "sandbox-app-secret-7Hq2LmX9pV4rT8wZ"  # noqa: S105 - published sandbox value
DEMO_VERIFICATION_TOKEN = "sandbox-vtoken-Qm3Zt8Lw2Rx6"  # noqa: S105 - published sandbox value
DEMO_ENCRYPT_KEY = "sandbox-encrypt-key-Ve4Nk7Pa1Sd9"
# The product's demo integration uses this key, so the seeded app's four URLs point at it.
DEMO_INTEGRATION_KEY = "demo"

# What the simulated Lark client sends as its user agent (desktop and phone).
LARK_USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1_1) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/121.0.6167.86 Safari/537.36 Lark/7.27.8 LarkLocale/zh_CN ttnet SDK-Version/7.27.8"
)
LARK_MOBILE_USER_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 Lark/7.30.5 LarkLocale/zh_CN ChannelName/Feishu"
)


def user_agent(phone: bool = False, locale: str = "zh_CN") -> str:
    """The Lark client's user agent, speaking `locale` (LarkLocale/zh_CN, en_US...)."""
    agent = LARK_MOBILE_USER_AGENT if phone else LARK_USER_AGENT
    return agent.replace("LarkLocale/zh_CN", f"LarkLocale/{locale}")


def _digest(kind: str, email: str, length: int) -> str:
    return hashlib.sha256(f"{kind}:{email}".encode()).hexdigest()[:length]


@dataclass(frozen=True)
class SeedUser:
    name: str
    en_name: str
    email: str
    mobile: str
    tenant_key: str = TENANT_KEY
    locale: str = "zh_CN"

    @property
    def open_id(self) -> str:
        return "ou_" + _digest("open", self.email, 32)

    @property
    def union_id(self) -> str:
        return "on_" + _digest("union", self.email, 32)

    @property
    def user_id(self) -> str:
        return _digest("user", self.email, 8)


LI_LEI = SeedUser("李雷", "Li Lei", "li.lei@example.com", "+8613800000001")
HAN_MEIMEI = SeedUser("韩梅梅", "Han Meimei", "han.meimei@example.com", "+8613800000002")
WANG_FANG = SeedUser("王芳", "Wang Fang", "wang.fang@example.com", "+8613800000003", locale="en_US")
ZHANG_WEI = SeedUser("张伟", "Zhang Wei", "zhang.wei@example.com", "+8613800000004")
CHEN_JING = SeedUser("陈静", "Chen Jing", "chen.jing@example.com", "+8613800000005")
# Outside the demo app's visibility range (可用范围): the bot cannot reach them (230013).
ZHAO_LEI = SeedUser("赵磊", "Zhao Lei", "zhao.lei@example.com", "+8613800000006")
# A person of another Lark tenant.
LIU_YANG = SeedUser(
    "刘洋", "Liu Yang", "liu.yang@globex.example.com", "+8613900000001", OTHER_TENANT_KEY
)

USERS: tuple[SeedUser, ...] = (
    LI_LEI,
    HAN_MEIMEI,
    WANG_FANG,
    ZHANG_WEI,
    CHEN_JING,
    ZHAO_LEI,
    LIU_YANG,
)
OUT_OF_RANGE_USER = ZHAO_LEI
OTHER_TENANT_USER = LIU_YANG


@dataclass(frozen=True)
class SeedChat:
    chat_id: str
    name: str
    description: str
    members: tuple[SeedUser, ...]
    bot_member: bool


ONCALL_CHAT = SeedChat(
    "oc_" + _digest("chat", "oncall", 32),
    "Core Platform 值班群",
    "Incidents of the core platform",
    (LI_LEI, HAN_MEIMEI, WANG_FANG, ZHANG_WEI),
    bot_member=True,
)
# The demo app's bot is not in this one: sending to it answers 230002.
PAYMENTS_CHAT = SeedChat(
    "oc_" + _digest("chat", "payments", 32),
    "Payments 支付小组",
    "Payments team",
    (LI_LEI, HAN_MEIMEI, CHEN_JING),
    bot_member=False,
)
CHATS: tuple[SeedChat, ...] = (ONCALL_CHAT, PAYMENTS_CHAT)
