"""/api/v1/members: the account's people (read only), by id, a page at a time."""

from __future__ import annotations

from flask_babel import gettext as _
from pydantic import BaseModel, Field
from sqlalchemy import select

from webapp.api import auth
from webapp.api.problems import ApiProblem, FieldError
from webapp.api.schemas import ID_MAX, PageQuery
from webapp.api.spec import bp, operation
from webapp.extensions import db
from webapp.models import Member, Role, TokenScope

TAG = "members"


class MemberOut(BaseModel):
    id: int
    name: str
    email: str
    role: Role
    has_seat: bool = Field(description="Holds a license seat: may act on incidents.")


class MemberPage(BaseModel):
    items: list[MemberOut]
    next_cursor: str | None


@bp.get("/members")
@operation(TokenScope.READ, {"HTTP_200": MemberPage}, TAG)
def list_members(query: PageQuery) -> MemberPage:
    """The account's members, by id."""
    after = _after(query.cursor)
    found = list(
        db.session.scalars(
            select(Member)
            .where(Member.account_id == auth.token().account_id, Member.id > after)
            .order_by(Member.id)
            .limit(query.limit + 1)
        )
    )
    shown = found[: query.limit]
    more = str(shown[-1].id) if len(found) > query.limit else None
    items = [MemberOut.model_validate(m, from_attributes=True) for m in shown]
    return MemberPage(items=items, next_cursor=more)


def _after(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isdigit() or len(cursor) > 10 or int(cursor) > ID_MAX:
        raise ApiProblem(
            422,
            "invalid-input",
            _("Some fields are wrong."),
            [
                FieldError(
                    field="cursor", message=_("This cursor is not one of ours: start without one.")
                )
            ],
        )
    return int(cursor)
