"""Fixtures of the alert tests: a channel whose dispatch rule posts to the on-call chat."""

from __future__ import annotations

import pytest

from tests import factories
from tests.factories import Persona
from tests.test_dispatch import CHAT, bind, rule
from webapp.models import Channel, LarkIntegration
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox


@pytest.fixture
def chat_channel(owner: Persona, lark: LarkSandbox) -> tuple[LarkIntegration, Channel]:
    """A channel whose rule posts to the on-call chat (and to assignees, Li Lei bound)."""
    integration = factories.lark_integration(owner.account)
    bind(integration, owner.member, seed.LI_LEI.open_id)
    channel = factories.channel(owner.account, [owner.member])
    rule(channel, integration, [{"assignees": True, "chat_ids": [CHAT]}])
    return integration, channel
