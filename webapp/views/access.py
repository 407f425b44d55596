"""Who may open an admin page, and which rows a page may name: the two rules every admin
view shares, written once.

`signed_in_admin` guards whole blueprints (sign in first, then admins only: 403);
`require_admin` is the same rule inside a view of a blueprint members also use.
`account_row` is "this account's row or 404": another account's rows answer exactly as
missing ones, so an id tells an outsider nothing."""

from __future__ import annotations

from typing import Protocol, TypeVar

from flask import abort
from flask.typing import ResponseReturnValue
from flask_login import current_user

from webapp.extensions import db, login_manager
from webapp.models import Member


class _OfAnAccount(Protocol):
    @property
    def account_id(self) -> int: ...


Row = TypeVar("Row", bound=_OfAnAccount)


def signed_in_admin() -> ResponseReturnValue | None:
    """A blueprint's `before_request`: the sign-in page for a visitor, 403 for a member."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_admin:
        abort(403)
    return None


def require_admin() -> Member:
    """The signed-in admin, for a view in a blueprint that members use too."""
    refused = signed_in_admin()
    if refused is not None:
        abort(refused)  # type: ignore[arg-type]
    admin: Member = current_user._get_current_object()
    return admin


def account_row(model: type[Row], row_id: int | str | None, account_id: int | None = None) -> Row:
    """The `model` row with this id (an int, or digits from a form) in the account, the
    signed-in member's unless named, or 404."""
    if isinstance(row_id, str):
        row_id = int(row_id) if row_id.isdigit() else None
    row = db.session.get(model, row_id) if row_id is not None else None
    owner = account_id if account_id is not None else current_user.account_id
    if row is None or row.account_id != owner:
        abort(404)
    return row
