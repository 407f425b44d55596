"""webapp/lark/oauth.py against the sandbox: who the user is, and Lark's refusals classified."""

from __future__ import annotations

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from tests import factories
from tests.factories import Persona
from webapp.extensions import db
from webapp.lark import oauth
from webapp.lark.oauth import Failure, LoginError
from webapp.models import LarkIntegration, Platform
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox

VERIFIER = "v" * 64


@pytest.fixture
def integration(owner: Persona, live_server: str) -> LarkIntegration:
    return factories.lark_integration(owner.account)


def code_for(lark: LarkSandbox, integration: LarkIntegration, person: seed.SeedUser) -> str:
    return lark.oauth_code(
        person.open_id,
        callback(integration),
        code_challenge=create_s256_code_challenge(VERIFIER),
    )


def callback(integration: LarkIntegration) -> str:
    return f"https://oncall.example.com/lark/{integration.key}/oauth/callback"


def refusal(integration: LarkIntegration, code: str, verifier: str = VERIFIER) -> LoginError:
    with pytest.raises(LoginError) as caught:
        oauth.finish(integration, callback(integration), code, verifier)
    return caught.value


def test_finishing_a_login_says_who_the_user_is(
    lark: LarkSandbox, integration: LarkIntegration
) -> None:
    user = oauth.finish(
        integration, callback(integration), code_for(lark, integration, seed.LI_LEI), VERIFIER
    )
    assert (user.open_id, user.union_id, user.name, user.tenant_key) == (
        seed.LI_LEI.open_id,
        seed.LI_LEI.union_id,
        "李雷",
        seed.TENANT_KEY,
    )
    assert (user.email, user.mobile) == (seed.LI_LEI.email, seed.LI_LEI.mobile)
    assert user.avatar_url is not None and user.avatar_url.startswith("http")


def test_a_code_used_twice_is_a_code_failure(
    lark: LarkSandbox, integration: LarkIntegration
) -> None:
    code = code_for(lark, integration, seed.LI_LEI)
    oauth.finish(integration, callback(integration), code, VERIFIER)
    error = refusal(integration, code)
    assert (error.failure, error.code) == (Failure.CODE, 20065)


def test_a_wrong_pkce_verifier_is_a_code_failure(
    lark: LarkSandbox, integration: LarkIntegration
) -> None:
    error = refusal(integration, code_for(lark, integration, seed.LI_LEI), "w" * 64)
    assert (error.failure, error.code) == (Failure.CODE, 20049)


def test_a_user_outside_the_availability_range_is_not_visible(
    lark: LarkSandbox, integration: LarkIntegration
) -> None:
    error = refusal(integration, code_for(lark, integration, seed.OUT_OF_RANGE_USER))
    assert (error.failure, error.code) == (Failure.NOT_VISIBLE, 20010)


def test_a_lark_server_error_counts_as_unreachable(
    lark: LarkSandbox, integration: LarkIntegration
) -> None:
    lark.fail("/open-apis/authen/v2/oauth/token", status=503, times=1)
    error = refusal(integration, code_for(lark, integration, seed.LI_LEI))
    assert error.failure == Failure.UNREACHABLE


def test_a_refused_connection_is_unreachable(
    lark: LarkSandbox, integration: LarkIntegration
) -> None:
    code = code_for(lark, integration, seed.LI_LEI)
    integration.api_base_url = "http://127.0.0.1:9"
    error = refusal(integration, code)
    assert (error.failure, error.code) == (Failure.UNREACHABLE, None)


def test_the_authorize_page_is_on_the_accounts_host_of_each_platform(
    integration: LarkIntegration,
) -> None:
    integration.api_base_url = "https://open.feishu.cn"
    assert oauth.accounts_base(integration) == "https://accounts.feishu.cn"
    integration.platform, integration.api_base_url = Platform.LARK, "https://open.larksuite.com"
    assert oauth.accounts_base(integration) == "https://accounts.larksuite.com"
    integration.api_base_url = "http://127.0.0.1:5000/_lark"  # the sandbox serves both
    assert oauth.accounts_base(integration) == "http://127.0.0.1:5000/_lark"
    integration.accounts_base_url = "https://accounts.example.cn/"
    assert oauth.accounts_base(integration) == "https://accounts.example.cn"
    db.session.rollback()
