"""The sandbox's mail inbox in a browser: linked from the sandbox's home, it shows the e-mail
a member Lark cannot reach received. With TOUR_DIR set the screenshot is also copied there
(docs/tour/email-fallback-inbox.png)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests import factories
from tests.browser import DESKTOP, PageAt, screenshot
from tests.test_diagnostics import rule
from webapp.delivery import worker as outbox
from webapp.sandbox import inbox as sandbox_inbox
from webapp.sandbox.handle import LarkSandbox


@pytest.mark.browser
def test_the_inbox_shows_the_fallback_e_mail(
    page_at: PageAt,
    live_server: str,
    owner: factories.Persona,
    member: factories.Persona,
    lark: LarkSandbox,
    smtp: sandbox_inbox.Inbox,
) -> None:
    integration = factories.lark_integration(owner.account)
    channel = factories.channel(owner.account, [member.member], name="Payments")
    rule(channel, integration, [{"member_ids": [member.member.id]}])
    incident = factories.incident(owner.account, ch=channel, title="Payments API 5xx above 5%")
    outbox.run_once()
    assert smtp.to(member.member.email)

    page = page_at(DESKTOP)
    page.goto(f"{live_server}/_lark/")
    page.click("#inbox-link")
    page.wait_for_selector(".lk-mail")
    text = page.inner_text("#inbox")
    assert f"Incident #{incident.number}: Payments API 5xx above 5%" in text
    assert member.member.email in text and "have not linked your Lark account" in text
    shot = screenshot(page, "email-fallback-inbox")
    if os.environ.get("TOUR_DIR"):
        shutil.copy(shot, Path(os.environ["TOUR_DIR"]) / "email-fallback-inbox.png")
