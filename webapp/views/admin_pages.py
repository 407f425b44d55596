"""What the admin pages of an account's webhooks and heartbeats share: a page that says it
varies with HX-Request (rule 5), so a cache never mixes the page and its fragment."""

from __future__ import annotations

from typing import Any

from flask import Response, make_response, render_template


def page(template: str, status: int = 200, **context: Any) -> Response:
    response = make_response(render_template(template, **context), status)
    response.headers["Vary"] = "HX-Request"
    return response
