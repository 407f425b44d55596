"""What the admin pages of an account's objects share: the row of this account or 404, and a
page that says it varies with HX-Request."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from flask import Response, abort, make_response, render_template
from flask_login import current_user

from webapp.extensions import db


class _Owned(Protocol):
    account_id: int


Row = TypeVar("Row", bound=_Owned)


def own_or_404(model: type[Row], row_id: int) -> Row:
    """This account's row of `model`; another account's rows answer 404, as if missing."""
    row = db.session.get(model, row_id)
    if row is None or row.account_id != current_user.account_id:
        abort(404)
    return row


def page(template: str, status: int = 200, **context: Any) -> Response:
    response = make_response(render_template(template, **context), status)
    response.headers["Vary"] = "HX-Request"
    return response
