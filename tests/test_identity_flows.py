"""Lark identity end to end over real HTTP: the simulated Lark client opens the web app,
the product swaps the OAuth code at the sandbox, and a person binds, comes back
login-free, switches account or signs out. Each failure names itself and binds nothing."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import func, select

from tests import factories
from tests.factories import Persona
from webapp import ratelimit
from webapp.extensions import db
from webapp.identity import bindings
from webapp.models import LarkBinding, LarkIntegration, Member
from webapp.sandbox import lark_session, seed

_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class Visitor:
    """One browser: inside the Lark client (its user agent) or a plain browser, signed in
    to Lark as `person` (the sandbox client's cookie)."""

    def __init__(self, base: str, person: seed.SeedUser, in_client: bool = True) -> None:
        self.base = base
        self.http = requests.Session()
        if in_client:
            self.http.headers["User-Agent"] = seed.user_agent(locale="en_US")
        host = urlsplit(base).hostname or "127.0.0.1"
        self.http.cookies.set(lark_session.USER_COOKIE, person.open_id, domain=host, path="/_lark")
        self.last = ""

    def get(self, path: str, follow: bool = True) -> requests.Response:
        url = path if path.startswith("http") else self.base + path
        response = self.http.get(url, timeout=15, allow_redirects=follow)
        self.last = response.text
        return response

    def post(self, path: str, **data: str) -> requests.Response:
        match = _CSRF.search(self.last)
        assert match, "no CSRF token on the last page"
        response = self.http.post(
            self.base + path, data={"csrf_token": match.group(1), **data}, timeout=15
        )
        self.last = response.text
        return response

    def callback_url(self, path: str = "/lark/demo/") -> str:
        """Follow the redirects up to (not into) our OAuth callback; return its URL."""
        response = self.get(path, follow=False)
        while response.is_redirect:
            location = response.headers["Location"]
            if "/oauth/callback" in location:
                return location if location.startswith("http") else self.base + location
            response = self.get(location, follow=False)
        raise AssertionError(f"no callback reached, ended on {response.url}")


def signed_in_as(page: requests.Response) -> str | None:
    """The member named in the shell's top bar (every signed-in page of the web app)."""
    match = re.search(r'<span class="lk-me-name">([^<]+)</span>', page.text)
    return match.group(1) if match else None


def bind_as(visitor: Visitor, persona: Persona, password: str | None = None) -> requests.Response:
    return visitor.post(
        "/lark/demo/bind", email=persona.member.email, password=password or persona.password
    )


def live_bindings() -> list[LarkBinding]:
    db.session.expire_all()
    return list(
        db.session.execute(select(LarkBinding).where(LarkBinding.ended_at.is_(None))).scalars()
    )


def binding_count() -> int:
    return db.session.execute(select(func.count()).select_from(LarkBinding)).scalar_one()


@pytest.fixture
def integration(owner: Persona, live_server: str) -> LarkIntegration:
    return factories.lark_integration(owner.account, tenant_key=seed.TENANT_KEY)


@pytest.fixture
def han(live_server: str, integration: LarkIntegration) -> Visitor:
    return Visitor(live_server, seed.HAN_MEIMEI)


# --- the happy paths ---------------------------------------------------------------


def test_a_first_visit_asks_who_you_are_here_and_binds(han: Visitor, member: Persona) -> None:
    page = han.get("/lark/demo/")
    assert urlsplit(page.url).path == "/lark/demo/bind"
    assert "You are 韩梅梅 in Lark." in page.text
    assert seed.HAN_MEIMEI.email in page.text  # Lark's e-mail is offered as the login
    home = bind_as(han, member)
    assert urlsplit(home.url).path.startswith("/lark/demo/")
    assert signed_in_as(home) == member.member.name
    assert "Lark user: 韩梅梅" in home.text
    [binding] = live_bindings()
    assert (binding.member_id, binding.open_id, binding.tenant_key, binding.method) == (
        member.member.id,
        seed.HAN_MEIMEI.open_id,
        seed.TENANT_KEY,
        "oauth",
    )


def test_a_later_visit_from_lark_needs_no_sign_in(
    han: Visitor, member: Persona, live_server: str
) -> None:
    han.get("/lark/demo/")
    bind_as(han, member)
    again = Visitor(live_server, seed.HAN_MEIMEI)  # the app was closed: no session cookie
    page = again.get("/lark/demo/")
    assert signed_in_as(page) == member.member.name
    assert all("/bind" not in r.headers.get("Location", "") for r in page.history)


def test_switch_account_unlinks_and_binds_the_lark_user_to_another_member(
    han: Visitor, member: Persona, owner: Persona
) -> None:
    han.get("/lark/demo/")
    bind_as(han, member)
    page = han.post("/lark/demo/switch-account")
    assert urlsplit(page.url).path == "/lark/demo/bind"
    assert "Sign in as another member" in page.text
    assert live_bindings() == []
    home = bind_as(han, owner)
    assert signed_in_as(home) == owner.member.name
    [live] = live_bindings()
    assert live.member_id == owner.member.id
    [ended] = bindings.history(live.integration, member.member)
    assert ended.ended_reason == "switch_account"


def test_signing_out_ends_the_session_and_opening_again_signs_in(
    han: Visitor, member: Persona
) -> None:
    han.get("/lark/demo/")
    bind_as(han, member)
    page = han.post("/lark/demo/sign-out")
    assert "You are signed out" in page.text
    assert len(live_bindings()) == 1
    assert signed_in_as(han.get("/lark/demo/")) == member.member.name


def test_the_language_chosen_in_the_menu_stays_with_the_member(
    han: Visitor, member: Persona
) -> None:
    han.get("/lark/demo/")
    bind_as(han, member)
    page = han.post("/lark/demo/language", locale="zh", next="/lark/demo/")
    assert signed_in_as(page) == member.member.name
    assert '<html lang="zh-CN">' in page.text
    db.session.expire_all()
    assert db.session.get(Member, member.member.id).locale == "zh"  # type: ignore[union-attr]


def test_the_tenant_is_learnt_from_the_first_login(
    owner: Persona, member: Persona, live_server: str
) -> None:
    integration = factories.lark_integration(owner.account)
    Visitor(live_server, seed.HAN_MEIMEI).get("/lark/demo/")
    db.session.refresh(integration)
    assert integration.tenant_key == seed.TENANT_KEY


def test_a_bulk_linked_member_is_in_at_the_first_visit(
    integration: LarkIntegration, member: Persona, live_server: str
) -> None:
    member.member.email = seed.HAN_MEIMEI.email
    db.session.commit()
    report = bindings.bulk_link(integration, [member.member])
    assert [m for m, _ in report.linked] == [member.member]
    page = Visitor(live_server, seed.HAN_MEIMEI).get("/lark/demo/")
    assert signed_in_as(page) == member.member.name
    [binding] = live_bindings()
    assert (binding.method, binding.lark_name) == ("bulk", "韩梅梅")  # profile filled at login


def test_bulk_link_matches_mobiles_and_says_why_others_were_not_found(
    integration: LarkIntegration, owner: Persona, member: Persona
) -> None:
    member.member.phone = seed.WANG_FANG.mobile
    owner.member.email, owner.member.phone = "nobody@example.com", None
    db.session.commit()
    report = bindings.bulk_link(integration, [owner.member, member.member])
    assert report.linked == [(member.member, seed.WANG_FANG.mobile)]
    [(missing, reason)] = report.not_found
    assert missing == owner.member
    assert "Lark has no user with nobody@example.com" in reason
    assert bindings.bulk_link(integration, [member.member]).already == [member.member]
    assert (
        "Linked 0, already linked 1, not found 0."
        in bindings.bulk_link(integration, [member.member]).summary()
    )


def test_one_visit_costs_one_code_exchange_and_one_user_info(han: Visitor, lark: object) -> None:
    han.get("/lark/demo/")
    [token] = lark.calls("/open-apis/authen/v2/oauth/token")  # type: ignore[attr-defined]
    [info] = lark.calls("/open-apis/authen/v1/user_info")  # type: ignore[attr-defined]
    assert (token.status, token.code, token.app_id) == (200, 0, seed.DEMO_APP_ID)
    assert (info.status, info.code) == (200, 0)


def test_an_earlier_tab_can_still_finish_its_sign_in(han: Visitor) -> None:
    earlier = han.callback_url()
    han.callback_url()  # another tab started a sign-in meanwhile
    assert urlsplit(han.get(earlier).url).path == "/lark/demo/bind"


def test_the_homepage_opens_the_incident_list(han: Visitor, member: Persona) -> None:
    han.get("/lark/demo/")
    bind_as(han, member)
    home = han.get("/lark/demo/", follow=False)
    assert (home.status_code, home.headers["Location"]) == (302, "/lark/demo/incidents")


# --- failures: each has its page and binds nothing --------------------------------


def test_a_reused_state_is_refused(han: Visitor, member: Persona) -> None:
    callback = han.callback_url()
    han.get(callback)
    page = han.get(callback)
    assert page.status_code == 400
    assert "This sign-in link is no longer valid" in page.text
    assert binding_count() == 0


def test_an_expired_code_is_refused(han: Visitor, lark: object) -> None:
    callback = han.callback_url()
    lark.advance(301)  # type: ignore[attr-defined]
    page = han.get(callback)
    assert page.status_code == 400
    assert "sign-in code expired or was already used" in page.text
    assert binding_count() == 0


def test_a_reused_code_is_refused(han: Visitor) -> None:
    first = han.callback_url()
    han.get(first)  # Lark's code is used here
    code = re.search(r"code=([^&]+)", first).group(1)  # type: ignore[union-attr]
    fresh = han.callback_url()  # a new round: our state is fresh, the old code is not
    page = han.get(re.sub(r"code=[^&]+", f"code={code}", fresh))
    assert page.status_code == 400
    assert "expired or was already used" in page.text
    assert binding_count() == 0


def test_refusing_on_the_consent_page_binds_nothing(
    integration: LarkIntegration, live_server: str
) -> None:
    browser = Visitor(live_server, seed.HAN_MEIMEI, in_client=False)  # outside Lark
    consent = browser.get("/lark/demo/")
    assert urlsplit(consent.url).path == "/_lark/open-apis/authen/v1/authorize"
    form = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', consent.text))
    form.update(decision="deny")
    page = browser.http.post(consent.url, data=form, timeout=15)
    assert page.status_code == 403
    assert "You did not allow the sign-in" in page.text
    assert binding_count() == 0


def test_lark_unreachable_is_said_plainly(han: Visitor, lark: object) -> None:
    lark.fail("/open-apis/authen/v2/oauth/token", status=500, times=1)  # type: ignore[attr-defined]
    page = han.get("/lark/demo/")
    assert page.status_code == 503
    assert "Lark could not be reached" in page.text
    assert binding_count() == 0


def test_a_failing_user_info_is_unreachable_too(han: Visitor, lark: object) -> None:
    lark.fail("/open-apis/authen/v1/user_info", status=500, times=1)  # type: ignore[attr-defined]
    page = han.get("/lark/demo/")
    assert page.status_code == 503
    assert "Lark could not be reached" in page.text
    assert binding_count() == 0


def test_a_wrong_app_secret_points_at_the_integration_settings(
    han: Visitor, integration: LarkIntegration
) -> None:
    integration.app_secret = "not-the-secret"
    db.session.commit()
    page = han.get("/lark/demo/")
    assert page.status_code == 502
    assert "The Lark app is not set up correctly" in page.text
    assert binding_count() == 0


def test_a_closed_lark_port_is_unreachable_too(han: Visitor, integration: LarkIntegration) -> None:
    callback = han.callback_url()
    integration.api_base_url = "http://127.0.0.1:9/_lark"  # discard port: connection refused
    db.session.commit()
    page = han.get(callback)
    assert page.status_code == 503
    assert binding_count() == 0


def test_a_lark_user_of_another_organisation_is_refused(
    integration: LarkIntegration, live_server: str
) -> None:
    page = Visitor(live_server, seed.OTHER_TENANT_USER).get("/lark/demo/")
    assert page.status_code == 403
    assert "Your Lark user belongs to another organisation" in page.text
    assert binding_count() == 0


def test_a_lark_user_outside_the_availability_range_is_told_so(
    integration: LarkIntegration, live_server: str
) -> None:
    page = Visitor(live_server, seed.OUT_OF_RANGE_USER).get("/lark/demo/")
    assert page.status_code == 403
    assert "outside the availability range" in page.text
    assert binding_count() == 0


def test_a_member_of_another_account_cannot_bind(han: Visitor, outsider: Persona) -> None:
    han.get("/lark/demo/")
    page = bind_as(han, outsider)
    assert page.status_code == 422
    assert f"{outsider.member.email} is not a member of" in page.text
    assert binding_count() == 0


def test_a_wrong_password_is_refused_and_attempts_are_limited(
    han: Visitor, member: Persona
) -> None:
    han.get("/lark/demo/")
    page = bind_as(han, member, password="guess")
    assert (page.status_code, "Wrong e-mail or password." in page.text) == (422, True)
    email = member.member.email.lower()
    while ratelimit.limiter().hit(ratelimit.LOGIN_PER_ACCOUNT, "login-email", email, "127.0.0.1"):
        pass  # the other nine guesses of the budget, spent without hashing nine passwords
    page = bind_as(han, member)
    assert (page.status_code, "Too many attempts" in page.text) == (422, True)
    assert binding_count() == 0


def test_a_member_already_linked_elsewhere_is_told_what_to_do(
    han: Visitor, member: Persona, live_server: str
) -> None:
    han.get("/lark/demo/")
    bind_as(han, member)
    wang = Visitor(live_server, seed.WANG_FANG)
    wang.get("/lark/demo/")
    page = bind_as(wang, member)
    assert page.status_code == 422
    assert "is already linked to another Lark user (韩梅梅)" in page.text
    assert len(live_bindings()) == 1
