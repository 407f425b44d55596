"""Errors as a full page for normal requests, a small fragment for htmx, JSON for the API."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from webapp.api import problems


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        403: _("You do not have access to this page."),
        404: _("There is nothing here. It may have been removed, or belong to another account."),
        405: _("That action is not allowed here."),
        413: _("The request is too large (1 MiB at most)."),
        429: _("Too many attempts. Wait a minute and try again."),
    }


def _csrf_error(error: CSRFError) -> ResponseReturnValue:
    message = _("Your form expired or came from another site. Reload the page and try again.")
    return _render(400, message)


def _http_error(error: HTTPException) -> ResponseReturnValue:
    code = error.code or 500
    # Werkzeug's own descriptions are English only; codes we have no words for get ours.
    message = _messages().get(code, _("Something went wrong."))
    if request.path.startswith("/api/v1/"):  # RFC 9457 problem details, like the rest there
        return problems.from_http(error, message, _slug(code))
    return _render(code, message)


def _render(code: int, message: str) -> ResponseReturnValue:
    if request.path.startswith("/api/") or request.path.startswith("/_lark/open-apis/"):
        return jsonify(error=_slug(code), message=message), code
    template = "errors/_error.html" if request.headers.get("HX-Request") else "errors/page.html"
    response = render_template(template, code=code, message=message)
    return response, code, {"Vary": "HX-Request"}


def _slug(code: int) -> str:
    return {
        400: "bad_request",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        413: "too_large",
        429: "rate_limited",
    }.get(code, "error")
