"""Lark (Feishu) web login: OAuth 2 authorization code with PKCE, then `user_info`.

One Authlib client per integration (its own App ID / App Secret and hosts), built on
demand by `client_for`. Every Lark quirk of the login endpoints is handled here and
nowhere else (see docs/lark/login.md):

- the token endpoint answers errors as HTTP 4xx/5xx `{code, error, error_description}`;
  Authlib turns a 4xx into `OAuthError` without the numeric `code` and a 5xx into
  `requests.HTTPError`, so a compliance hook reads the code first, and both are caught;
- a successful token body carries an extra `"code": 0` (harmless);
- `user_info` is wrapped in `{code, msg, data}` and reports errors as HTTP 200 + code.

These are identity calls made with the user's own credentials, not Open API business
calls, so they go through Authlib's requests session (with the same timeout) rather than
webapp/lark/client.py, whose token cache and API-usage accounting are for the app's
tenant token. The user's tokens are used once, to read who the user is, and never kept.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from flask import current_app

from webapp.models import LarkIntegration, Platform

AUTHORIZE_PATH = "/open-apis/authen/v1/authorize"
# v2 rather than v3 (accounts.../oauth/v3/token): v3 is not confirmed on the Lark
# international host, and v2 behaves the same for a client that always sends S256 PKCE.
TOKEN_PATH = "/open-apis/authen/v2/oauth/token"  # noqa: S105 - a path
USER_INFO_PATH = "/open-apis/authen/v1/user_info"


class Failure(enum.StrEnum):
    """Why a login failed, in the words the failure pages are chosen by."""

    CODE = "code"  # the code expired, was used already, or PKCE did not match
    NOT_VISIBLE = "not_visible"  # the user is outside the app's availability range
    USER_INACTIVE = "user_inactive"  # resigned, frozen or unknown user
    APP_CONFIG = "app_config"  # wrong App Secret, app disabled, redirect URL not allowed
    UNREACHABLE = "unreachable"  # network error, timeout or a Lark server error
    LARK = "lark"  # anything else Lark refused


# Token and user_info error codes (A2, A5, A6 in the notes) -> what the user is told.
_FAILURES: dict[int, Failure] = {
    20003: Failure.CODE,
    20004: Failure.CODE,
    20024: Failure.CODE,
    20049: Failure.CODE,
    20065: Failure.CODE,
    20010: Failure.NOT_VISIBLE,
    20009: Failure.NOT_VISIBLE,
    20008: Failure.USER_INACTIVE,
    20021: Failure.USER_INACTIVE,
    20022: Failure.USER_INACTIVE,
    20023: Failure.USER_INACTIVE,
    20066: Failure.USER_INACTIVE,
    20002: Failure.APP_CONFIG,
    20048: Failure.APP_CONFIG,
    20069: Failure.APP_CONFIG,
    20070: Failure.APP_CONFIG,
    20071: Failure.APP_CONFIG,
    20050: Failure.UNREACHABLE,
    20072: Failure.UNREACHABLE,
}


class LoginError(Exception):
    """Lark refused or could not be reached; `failure` picks the page, `code` is Lark's."""

    def __init__(self, failure: Failure, code: int | None = None, detail: str = "") -> None:
        super().__init__(f"{failure.value} (code {code}): {detail}")
        self.failure = failure
        self.code = code
        self.detail = detail


def _classify(code: int | None, http_status: int | None, detail: str) -> LoginError:
    if code is not None and code in _FAILURES:
        return LoginError(_FAILURES[code], code, detail)
    if http_status is not None and http_status >= 500:
        return LoginError(Failure.UNREACHABLE, code, detail)
    return LoginError(Failure.LARK, code, detail)


@dataclass(frozen=True)
class LarkUser:
    """Who signed in to Lark, from `user_info` (fields without a granted scope are None)."""

    open_id: str
    union_id: str | None
    user_id: str | None
    tenant_key: str | None
    name: str
    avatar_url: str | None
    email: str | None
    mobile: str | None

    @classmethod
    def from_user_info(cls, data: dict[str, Any]) -> LarkUser:
        open_id = data.get("open_id")
        if not isinstance(open_id, str) or not open_id:
            raise LoginError(Failure.LARK, None, "user_info has no open_id")
        return cls(
            open_id=open_id,
            union_id=_text(data.get("union_id")),
            user_id=_text(data.get("user_id")),
            tenant_key=_text(data.get("tenant_key")),
            name=_text(data.get("name")) or _text(data.get("en_name")) or open_id,
            avatar_url=_web_url(data.get("avatar_thumb") or data.get("avatar_url")),
            email=_text(data.get("email")) or _text(data.get("enterprise_email")),
            mobile=_text(data.get("mobile")),
        )

    def to_dict(self) -> dict[str, str | None]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> LarkUser:
        values: dict[str, Any] = {name: raw.get(name) for name in cls.__dataclass_fields__}
        return cls(**values)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _web_url(value: object) -> str | None:
    """Only http(s) avatars reach an <img src>."""
    text = _text(value)
    return text if text and text.startswith(("https://", "http://")) else None


# --- hosts -------------------------------------------------------------------------


def _platform_hosts(platform: Platform) -> tuple[str, str]:
    config = current_app.config
    if platform == Platform.LARK:
        return config["LARK_INTL_API_BASE"], config["LARK_INTL_ACCOUNTS_BASE"]
    return config["LARK_FEISHU_API_BASE"], config["LARK_FEISHU_ACCOUNTS_BASE"]


def accounts_base(integration: LarkIntegration) -> str:
    """The authorize host: accounts.feishu.cn / accounts.larksuite.com for the real
    Open API hosts; any other API base (the sandbox, a proxy) serves the page itself."""
    if integration.accounts_base_url:
        return integration.accounts_base_url.rstrip("/")
    api_base, accounts = _platform_hosts(integration.platform)
    if integration.api_base_url.rstrip("/") == api_base.rstrip("/"):
        return accounts.rstrip("/")
    return integration.api_base_url.rstrip("/")


def api_base(integration: LarkIntegration) -> str:
    return integration.api_base_url.rstrip("/")


# --- the client --------------------------------------------------------------------


def client_for(integration: LarkIntegration, redirect_uri: str) -> OAuth2Session:
    """The Authlib client of one integration: client_secret_post (never Basic as well,
    which Lark refuses with 20070), PKCE S256, no scope (user_info needs none; asking
    for one the app lacks fails the authorize page with 20027)."""
    session = OAuth2Session(
        client_id=integration.app_id,
        client_secret=integration.app_secret,
        token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        default_timeout=current_app.config["LARK_HTTP_TIMEOUT"],
    )
    session.register_compliance_hook("access_token_response", _raise_lark_token_error)
    return session


def _raise_lark_token_error(response: requests.Response) -> requests.Response:
    """Keep Lark's numeric code, which Authlib's OAuthError drops."""
    body = _json(response)
    code = body.get("code") if isinstance(body, dict) else None
    if isinstance(code, int) and code != 0:
        detail = str(body.get("error_description") or body.get("error") or body.get("msg") or "")
        raise _classify(code, response.status_code, detail)
    if response.ok and not (isinstance(body, dict) and body.get("access_token")):
        raise LoginError(Failure.LARK, None, "token answer without access_token")
    return response


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


@dataclass(frozen=True)
class Authorization:
    """What the browser is sent to, and the secrets that must stay on our side."""

    url: str
    state: str
    code_verifier: str


def start(integration: LarkIntegration, redirect_uri: str) -> Authorization:
    verifier = generate_token(64)  # 43-128 chars of [A-Za-z0-9], as Lark requires
    url, state = client_for(integration, redirect_uri).create_authorization_url(
        accounts_base(integration) + AUTHORIZE_PATH, code_verifier=verifier
    )
    return Authorization(url=url, state=state, code_verifier=verifier)


def finish(
    integration: LarkIntegration, redirect_uri: str, code: str, code_verifier: str
) -> LarkUser:
    """Swap the code for a user token, read who the user is, and forget the token."""
    client = client_for(integration, redirect_uri)
    try:
        client.fetch_token(
            api_base(integration) + TOKEN_PATH,
            grant_type="authorization_code",
            code=code,
            code_verifier=code_verifier,
        )
        response = client.get(api_base(integration) + USER_INFO_PATH)
    except LoginError:
        raise
    except OAuthError as exc:  # a 4xx without Lark's code
        raise LoginError(Failure.LARK, None, str(exc)) from exc
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        raise _classify(None, status, str(exc)) from exc
    except requests.RequestException as exc:
        raise LoginError(Failure.UNREACHABLE, None, type(exc).__name__) from exc
    finally:
        client.close()
    return _user_from(response)


def _user_from(response: requests.Response) -> LarkUser:
    body = _json(response)
    if not isinstance(body, dict):
        raise _classify(None, response.status_code, f"user_info HTTP {response.status_code}")
    code = body.get("code")
    if code != 0 or not isinstance(body.get("data"), dict):
        number = code if isinstance(code, int) else None
        raise _classify(number, response.status_code, str(body.get("msg") or ""))
    return LarkUser.from_user_info(body["data"])
