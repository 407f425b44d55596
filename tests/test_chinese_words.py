"""Chinese readers see 许可证 for "License", and the workbench's Open button is the verb 打开,
not the incident status 未关闭."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from flask_babel import refresh

from tests import factories
from tests.factories import Persona
from tests.test_lark_pages import in_lark, nav
from webapp.extensions import db
from webapp.sandbox import lark_session, seed
from webapp.sandbox.handle import LarkSandbox


def test_the_license_page_and_the_navigation_say_license_in_chinese(
    client: FlaskClient, owner: Persona
) -> None:
    integration = factories.lark_integration(owner.account)
    member = factories.persona("member", account=owner.account, seat=False)
    member.member.locale = "zh"
    db.session.commit()
    in_lark(client, integration, member)
    refresh()
    page = client.get(f"/lark/{integration.key}/license").get_data(as_text=True)
    assert "<h1>许可证</h1>" in page
    assert nav(page)["许可证"] == f"/lark/{integration.key}/license"
    assert "您没有许可证席位" in page
    body = re.sub(r"<[^>]+>", " ", page.split("<body", 1)[1])
    assert "License" not in body


def test_the_sandbox_workbench_open_button_is_the_verb(
    client: FlaskClient, lark: LarkSandbox, owner: Persona
) -> None:
    lark.app().configure(homepage_url="http://127.0.0.1/lark/demo/")
    client.set_cookie(lark_session.USER_COOKIE, seed.HAN_MEIMEI.open_id, path="/_lark")
    refresh()
    page = client.get("/_lark/workbench", headers={"Accept-Language": "zh-CN"}).get_data(
        as_text=True
    )
    button = re.search(r'class="lk-btn lk-btn-primary"[^>]*>([^<]+)</a>', page)
    assert button is not None
    assert button.group(1) == "打开"
    refresh()
    page = client.get("/_lark/workbench", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert re.search(r'class="lk-btn lk-btn-primary"[^>]*>Open</a>', page)
