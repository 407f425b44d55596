"""The alert source page in a real browser: each tool's steps, desktop and phone, both languages.

Screenshots are copied to docs/tour/ with TOUR_DIR=docs/tour (else tests/artifacts/tour/):
source-<kind>-<size>-<lang>.png.
"""

from __future__ import annotations

import shutil
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
    tour_dir,
)
from webapp.extensions import db

pytestmark = pytest.mark.browser

TOUR = tour_dir()
KINDS = ("alertmanager", "grafana", "zabbix", "nightingale", "generic")
CASES = [
    pytest.param(viewport, lang, id=f"{size}-{lang}")
    for lang in ("en", "zh")
    for viewport, size in ((DESKTOP, "desktop"), (PHONE, "phone"))
]
# What the steps of each tool say first, in each language.
FIRST_STEP = {
    "en": {
        "alertmanager": "In alertmanager.yml, add a receiver",
        "grafana": "In Grafana, open Alerting → Contact points",
        "zabbix": "Download contrib/zabbix/media_type_oncall.yaml",
        "nightingale": "Nightingale v6: open Alerting → Alert rules",
        "generic": "POST a JSON object to the intake URL above",
    },
    "zh": {
        "alertmanager": "在 alertmanager.yml 中添加一个 receiver",
        "grafana": "在 Grafana 中打开 告警 → 联络点",
        "zabbix": "从本产品代码仓库下载",
        "nightingale": "夜莺 v6：打开 告警管理 → 告警规则",
        "generic": "向上面的接入 URL POST 一个带 title 的 JSON 对象",
    },
}
SAVE = {"en": "Save the tool", "zh": "保存工具"}
COPY = {"en": "Copy Intake URL", "zh": "复制 接入 URL"}
COPIED = {"en": "Copied", "zh": "已复制"}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("viewport", "lang"), CASES)
def test_each_tools_steps_show_and_the_intake_url_copies(
    page_at: PageAt,
    live_server: str,
    owner: factories.Persona,
    viewport: Any,
    lang: str,
    kind: str,
) -> None:
    ch = factories.channel(owner.account, [owner.member], name="Payments")
    source = factories.alert_source(owner.account, ch)
    owner.member.locale = lang
    db.session.commit()
    page = page_at(viewport, locale="zh-CN" if lang == "zh" else "en-US")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in_at_login(page, live_server, owner)
    page.goto(f"{live_server}/admin/sources/")
    page.get_by_role("link", name="Prometheus").click()
    # Pick the tool and save: the page comes back with that tool's steps.
    page.locator("select[name=kind]").select_option(kind)
    page.get_by_role("button", name=SAVE[lang]).click()
    page.locator(f"#steps-{kind}").wait_for()
    assert FIRST_STEP[lang][kind] in page.inner_text(f"#steps-{kind}")
    assert page.locator("select[name=kind]").input_value() == kind
    db.session.refresh(source)
    assert source.kind == kind
    assert horizontal_overflow(page) == 0
    if viewport is PHONE:
        assert small_targets(page, within="main") == []
    assert axe_violations(page, within="main") == []
    page.get_by_role("button", name=COPY[lang]).click()
    page.get_by_text(COPIED[lang]).first.wait_for()
    assert page.evaluate("() => navigator.clipboard.readText()") == (
        f"{live_server}/api/v1/alerts/{source.key}"
    )
    size = "desktop" if viewport is DESKTOP else "phone"
    shot = screenshot(page, f"source-{kind}-{size}-{lang}")
    shutil.copy(shot, TOUR / shot.name)
