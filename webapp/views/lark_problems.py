"""The pages a failed Lark login ends on: what happened and what to do. Nothing is bound."""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from webapp.lark.oauth import Failure, LarkUser
from webapp.models import LarkIntegration


def page(
    title: str, message: str, status: int, *, retry: bool = True, key: str | None = None
) -> ResponseReturnValue:
    body = render_template("lark/problem.html", title=title, message=message, retry=retry, key=key)
    return body, status


def integration_missing() -> ResponseReturnValue:
    return page(
        _("This Lark app is not connected"),
        _(
            "No integration matches this address, or it was disabled. Ask your administrator"
            " to check the web app URL in the Lark developer console against the integration"
            " page."
        ),
        404,
        retry=False,
    )


def login_failure(integration: LarkIntegration, failure: Failure, code: int | None) -> Any:
    pages: dict[Failure, tuple[str, str, int]] = {
        Failure.CODE: (
            _("The sign-in expired"),
            _("Lark's sign-in code expired or was already used. Nothing was linked."),
            400,
        ),
        Failure.NOT_VISIBLE: (
            _("This app is not available to you"),
            _(
                "Your Lark user is outside the availability range of this Lark app. Ask your"
                " Lark administrator to add you to the app's availability range (可用范围),"
                " then open it again."
            ),
            403,
        ),
        Failure.USER_INACTIVE: (
            _("Your Lark user cannot sign in"),
            _("Lark reports your user as resigned, frozen or not activated."),
            403,
        ),
        Failure.APP_CONFIG: (
            _("The Lark app is not set up correctly"),
            _(
                "Lark refused this app's credentials or redirect URL. Ask your administrator"
                " to compare the App Secret and the redirect URL with the integration page."
            ),
            502,
        ),
        Failure.UNREACHABLE: (
            _("Lark could not be reached"),
            _("Lark did not answer in time. Nothing was linked. Try again in a minute."),
            503,
        ),
        Failure.LARK: (
            _("Lark refused the sign-in"),
            _("Lark refused the sign-in (code %(code)s). Try again.", code=code or "-"),
            502,
        ),
    }
    title, message, status = pages[failure]
    return page(title, message, status, key=integration.key)


def state_invalid(integration: LarkIntegration) -> ResponseReturnValue:
    return page(
        _("This sign-in link is no longer valid"),
        _(
            "The sign-in was started in another window, took too long, or was already used."
            " Nothing was linked. Open the app again to sign in."
        ),
        400,
        key=integration.key,
    )


def denied(integration: LarkIntegration) -> ResponseReturnValue:
    return page(
        _("You did not allow the sign-in"),
        _(
            "You declined to let this app know who you are in Lark, so nothing was linked."
            " To use it, open it again and allow it."
        ),
        403,
        key=integration.key,
    )


def other_tenant(integration: LarkIntegration, user: LarkUser) -> ResponseReturnValue:
    return page(
        _("Your Lark user belongs to another organisation"),
        _(
            "This app is installed in the Lark organisation of %(account)s. Your Lark user"
            " %(name)s is from another organisation, so it cannot be linked here. Open the"
            " app from your own organisation's Lark workbench.",
            account=integration.account.name,
            name=user.name,
        ),
        403,
        retry=False,
    )
