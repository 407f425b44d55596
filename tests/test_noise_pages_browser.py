"""The noise reduction page in a real browser, desktop and phone, English and Chinese: the
preview follows what is typed, the form saves, and nothing scrolls sideways at 390 px.

Screenshots: noise-<size>-<lang>.png in docs/tour/ with TOUR_DIR=docs/tour (else
tests/artifacts/tour/).
"""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest
from flask.testing import FlaskClient

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
from tests.test_alert_grouping import batch
from webapp.extensions import db
from webapp.models import NoiseRules

pytestmark = pytest.mark.browser

TOUR = tour_dir()
CASES = [
    pytest.param(viewport, lang, id=f"{size}-{lang}")
    for lang in ("en", "zh")
    for viewport, size in ((DESKTOP, "desktop"), (PHONE, "phone"))
]
WOULD = {
    "en": "would have made 2 incidents instead of 12",
    "zh": "将产生 2 个故障，而不是 12 个",
}
SAVED = {"en": "Noise reduction of Payments saved.", "zh": "已保存 Payments 的降噪设置。"}
SAVE = {"en": "Save", "zh": "保存"}


@pytest.mark.parametrize(("viewport", "lang"), CASES)
def test_an_admin_previews_grouping_and_saves_it(
    page_at: PageAt,
    live_server: str,
    client: FlaskClient,
    owner: factories.Persona,
    viewport: Any,
    lang: str,
) -> None:
    channel = factories.channel(owner.account, [owner.member], name="Payments")
    source = factories.alert_source(owner.account, channel)
    for body in (batch(range(8)), batch(range(4), service="db")):
        client.post(
            f"/api/v1/alerts/{source.key}", data=json.dumps(body), content_type="application/json"
        )
    owner.member.locale = lang
    db.session.commit()
    page = page_at(viewport, locale="zh-CN" if lang == "zh" else "en-US")
    sign_in_at_login(page, live_server, owner)
    page.goto(f"{live_server}/admin/channels/{channel.id}/noise")
    page.fill("#f-group_labels", "alertname, service")
    page.get_by_text(WOULD[lang]).wait_for()
    page.fill("#f-storm_thresholds", "10, 100")
    assert horizontal_overflow(page) == 0
    if viewport is PHONE:
        assert small_targets(page, within="main") == []
    assert axe_violations(page, within="main") == []
    size = "desktop" if viewport is DESKTOP else "phone"
    shot = screenshot(page, f"noise-{size}-{lang}")
    shutil.copy(shot, TOUR / shot.name)
    page.get_by_role("button", name=SAVE[lang], exact=True).click()
    page.get_by_text(SAVED[lang]).wait_for()
    db.session.expire_all()
    rules = db.session.query(NoiseRules).one()
    assert (rules.group_by, rules.storm_thresholds) == (["alertname", "service"], [10, 100])
