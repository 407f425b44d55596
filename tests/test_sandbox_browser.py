"""The sandbox's Lark client in a real browser, on the desktop and on a phone."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.browser import DESKTOP, PHONE, PageAt, horizontal_overflow, screenshot, small_targets
from tests.sandbox_fixtures import LarkSandbox, Received, Receiver
from tests.sandbox_helpers import card, send, token
from webapp.sandbox import seed


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_person_picks_themselves_reads_a_card_and_presses_a_button(
    page_at: PageAt,
    live_server: str,
    client: FlaskClient,
    lark: LarkSandbox,
    lark_receiver: Receiver,
    viewport: dict[str, int],
) -> None:
    def answer(received: Received) -> tuple[int, object]:
        done = card("P1 db-01 is down · acknowledged by 李雷")
        return 200, {
            "toast": {"type": "success", "content": "Acknowledged"},
            "card": {"type": "raw", "data": done},
        }

    lark_receiver.answer = answer
    lark.app().configure(card_request_url=lark_receiver.url, encrypt_key="")
    send(client, token(client), seed.LI_LEI.open_id)
    name = "sandbox-" + ("desktop" if viewport is DESKTOP else "phone")
    page = page_at(viewport)
    page.goto(f"{live_server}/_lark/")
    screenshot(page, f"{name}-1-pick-user")
    assert not horizontal_overflow(page)
    page.get_by_role("button", name=seed.LI_LEI.name).click()
    page.get_by_role("link", name=seed.DEMO_APP_NAME).first.click()
    page.get_by_role("button", name="Acknowledge").wait_for()
    screenshot(page, f"{name}-2-card")
    assert not horizontal_overflow(page)
    assert small_targets(page, minimum=40, within=".lk-card") == []
    page.get_by_role("button", name="Acknowledge").click()
    page.get_by_text("acknowledged by 李雷").wait_for()
    page.get_by_role("status").filter(has_text="Acknowledged").first.wait_for()
    screenshot(page, f"{name}-3-pressed")
    page.goto(f"{live_server}/_lark/workbench")
    screenshot(page, f"{name}-4-workbench")
    assert not horizontal_overflow(page)
    page.goto(f"{live_server}/_lark/console/apps/{seed.DEMO_APP_ID}")
    screenshot(page, f"{name}-5-console")
    assert not horizontal_overflow(page)
