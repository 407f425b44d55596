"""The webhook and heartbeat pages in a real browser, desktop and phone, both languages:
create an endpoint, see its secret, send a test event and read it in the delivery log;
create a heartbeat and find its ping URL in the Watchdog recipe. Screenshots:
tests/artifacts/hooks-<page>-<size>-<lang>.png."""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories
from tests.browser import (
    DESKTOP,
    PHONE,
    PageAt,
    axe_violations,
    horizontal_overflow,
    screenshot,
    sign_in_at_login,
    small_targets,
)
from tests.test_webhooks import drain
from tests.webhook_fixtures import WebhookReceiver
from webapp.extensions import db
from webapp.heartbeats import service as heartbeats
from webapp.models import Heartbeat, WebhookEndpoint

pytestmark = pytest.mark.browser

CASES = [
    pytest.param(viewport, lang, id=f"{size}-{lang}")
    for lang in ("en", "zh")
    for viewport, size in ((DESKTOP, "desktop"), (PHONE, "phone"))
]
WORDS = {
    "en": {
        "new": "New endpoint",
        "resolved": "Incident resolved",
        "save": "Save",
        "test": "Send a test event",
        "delivered": "Delivered",
        "new_heartbeat": "New heartbeat",
        "name": "Name",
    },
    "zh": {
        "new": "新建端点",
        "resolved": "故障已关闭",
        "save": "保存",
        "test": "发送测试事件",
        "delivered": "已送达",
        "new_heartbeat": "新建心跳",
        "name": "名称",
    },
}


def _fits(page: Any, viewport: Any) -> None:
    assert horizontal_overflow(page) == 0
    if viewport is PHONE:
        assert small_targets(page, within="main") == []
    assert axe_violations(page, within="main") == []


@pytest.mark.parametrize(("viewport", "lang"), CASES)
def test_an_admin_adds_an_endpoint_and_reads_the_test_events_delivery(
    page_at: PageAt,
    live_server: str,
    owner: factories.Persona,
    receiver: WebhookReceiver,
    viewport: Any,
    lang: str,
) -> None:
    owner.member.locale = lang
    factories.channel(owner.account, [owner.member], name="Payments")
    words = WORDS[lang]
    page = page_at(viewport, locale="zh-CN" if lang == "zh" else "en-US")
    sign_in_at_login(page, live_server, owner)
    page.goto(f"{live_server}/admin/webhooks")
    _fits(page, viewport)
    size = "desktop" if viewport is DESKTOP else "phone"
    screenshot(page, f"hooks-webhooks-empty-{size}-{lang}")
    page.get_by_role("link", name=words["new"]).click()
    page.fill("input[name=url]", receiver.url)
    page.get_by_label(words["resolved"]).check()
    page.get_by_role("button", name=words["save"]).click()
    secret = page.locator("#secret").input_value()
    endpoint = db.session.query(WebhookEndpoint).one()
    assert secret == endpoint.secret
    receiver.secret = secret
    page.get_by_role("button", name=words["test"]).click()
    page.wait_for_load_state()
    drain()
    page.reload()
    log = page.inner_text("#webhook-log")
    assert words["delivered"] in log and "HTTP 200" in log
    assert receiver.types() == ["webhook.test"]
    screenshot(page, f"hooks-webhook-{size}-{lang}")
    _fits(page, viewport)


@pytest.mark.parametrize(("viewport", "lang"), CASES)
def test_an_admin_adds_a_heartbeat_and_finds_it_in_the_watchdog_recipe(
    page_at: PageAt, live_server: str, owner: factories.Persona, viewport: Any, lang: str
) -> None:
    owner.member.locale = lang
    factories.channel(owner.account, [owner.member], name="Monitoring")
    words = WORDS[lang]
    page = page_at(viewport, locale="zh-CN" if lang == "zh" else "en-US")
    sign_in_at_login(page, live_server, owner)
    page.goto(f"{live_server}/admin/heartbeats")
    _fits(page, viewport)
    page.get_by_role("link", name=words["new_heartbeat"]).first.click()
    page.get_by_label(words["name"]).fill("Prometheus watchdog")
    page.get_by_role("button", name=words["save"]).click()
    page.locator("#ping-url").wait_for()
    heartbeat = db.session.query(Heartbeat).one()
    url = heartbeats.ping_url(heartbeat)
    assert page.locator("#ping-url").input_value() == url
    size = "desktop" if viewport is DESKTOP else "phone"
    screenshot(page, f"hooks-heartbeat-{size}-{lang}")
    _fits(page, viewport)
    page.goto(f"{live_server}/admin/sources/#watchdog")
    assert f"- url: {url}" in page.inner_text("#watchdog")
    screenshot(page, f"hooks-watchdog-{size}-{lang}")
    _fits(page, viewport)
