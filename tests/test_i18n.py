"""Chinese and English everywhere: every message is translated, and the language follows
the member's choice, then the Lark client's locale, then the browser's."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import refresh
from werkzeug.test import TestResponse

from tests import factories
from tests.conftest import sign_in
from tests.factories import Persona
from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.models import LarkBinding, Source
from webapp.sandbox import seed

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "webapp" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
METHODS = [("webapp/**.py", "python"), ("templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}


class FreshLocaleClient(FlaskClient):
    """Picks the language afresh on every request, as production does. The autouse `_clean`
    fixture keeps one app context open for the whole test, so `g`, where Flask-Babel caches
    the locale, would otherwise outlive the first request (a real request has its own `g`)."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        refresh()
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return FreshLocaleClient(app, app.response_class, use_cookies=True)


def extracted_msgids() -> set[str]:
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords=KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_message_in_the_code_has_a_chinese_translation() -> None:
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle, locale="zh")
    missing = []
    for msgid in sorted(extracted_msgids()):
        entry = catalog.get(msgid)
        text = entry.string if entry else None
        translated = all(text) if isinstance(text, tuple) else bool(text)
        if entry is None or not translated or entry.fuzzy:
            missing.append(msgid)
    assert missing == [], f"{len(missing)} untranslated; run `make messages` and translate"


def test_the_browser_language_is_the_last_resort(client: FlaskClient) -> None:
    page = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "登录" in page.get_data(as_text=True)
    english = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "Sign in" in english.get_data(as_text=True)


def test_the_lark_client_locale_wins_over_the_browser(client: FlaskClient) -> None:
    ua = seed.LARK_USER_AGENT.replace("LarkLocale/zh_CN", "LarkLocale/en_US")
    page = client.get("/login", headers={"User-Agent": ua, "Accept-Language": "zh-CN"})
    assert "Sign in" in page.get_data(as_text=True)
    page = client.get(
        "/login", headers={"User-Agent": seed.LARK_USER_AGENT, "Accept-Language": "en-US"}
    )
    assert "登录" in page.get_data(as_text=True)


def test_the_members_own_choice_wins_over_lark_and_the_browser(
    app: Flask, client: FlaskClient, owner: Persona
) -> None:
    owner.member.locale = "en"
    db.session.commit()
    sign_in(client, owner)
    page = client.get("/", headers={"User-Agent": seed.LARK_USER_AGENT, "Accept-Language": "zh"})
    assert "Signed in as" in page.get_data(as_text=True)
    owner.member.locale = "zh"
    db.session.commit()
    page = client.get("/", headers={"Accept-Language": "en"})
    assert "Signed in as" not in page.get_data(as_text=True)


# -- no English left on Chinese pages ---------------------------------------------------

# Names of things that stay in English in a Chinese interface (Lark's own console says
# "App ID", "Encrypt Key"; protocols and products keep their names).
KEEP_ENGLISH = re.compile(
    r"\b(App ID|App Secret|Verification Token|Encrypt Key|tenant token|Open API|Lark|Feishu"
    r"|Alertmanager"
    r"|Prometheus|OAuth|PKCE|JSON|URL|API|htmx|AppLink|License|im:chat|im:message"
    r"|contact:user\.id:readonly|card\.action\.trigger(_v1)?|url_verification)\b"
)
# Two or more English words in a row (host names and e-mail addresses are data, not text).
ENGLISH_PHRASE = re.compile(r"[A-Za-z]{2,}(?:[,'’-]*\s+[A-Za-z]{2,})+")


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hidden = 0
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self.hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template"):
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden and data.strip():
            self.texts.append(data.strip())


def english_left(html: str) -> list[str]:
    parser = _VisibleText()
    parser.feed(html)
    found = []
    for text in parser.texts:
        for phrase in ENGLISH_PHRASE.findall(KEEP_ENGLISH.sub("", text)):
            found.append(phrase)
    return found


def test_chinese_pages_show_no_untranslated_english(
    app: Flask, client: FlaskClient, owner: Persona, member: Persona
) -> None:
    owner.member.name, owner.member.locale = "李雷", "zh"
    owner.member.email = "li.lei@例子.cn"
    channel = factories.channel(owner.account, [owner.member, member.member], "核心平台")
    incident = factories.incident(owner.account, title="数据库主从延迟", ch=channel)
    incidents.acknowledge(incident, Actor(owner.member, Source.WEB))
    integration = factories.lark_integration(owner.account, tenant_key=seed.TENANT_KEY)
    binding = LarkBinding(integration_id=integration.id, member_id=owner.member.id, open_id="ou_x")
    db.session.add(binding)
    db.session.commit()
    sign_in(client, owner)
    with client.session_transaction() as session:  # as the Lark doorway leaves it
        session["lark"] = {"key": integration.key, "binding": binding.id}
    base = f"/lark/{integration.key}"
    pages = [
        f"{base}/incidents?scope=all",
        f"{base}/incidents/{incident.number}",
        "/admin/integrations",
        f"/admin/integrations/{integration.id}",
        "/admin/integrations/new",
        "/admin/license",
        "/admin/diagnostics",
        "/admin/channels",
        f"/admin/channels/{channel.id}/dispatch",
        f"/admin/channels/{channel.id}/noise",
    ]
    leftovers = {}
    for path in pages:
        html = client.get(path, headers={"Accept-Language": "zh"}).get_data(as_text=True)
        for chat in seed.CHATS:  # Lark's chat names are data, whatever their language
            html = html.replace(chat.name, "")
        if english_left(html):
            leftovers[path] = english_left(html)
    assert leftovers == {}, leftovers
