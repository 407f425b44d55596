"""Shapes several resources share: a person, a channel, a page of results."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from webapp.models import Channel, Member

PAGE_MAX = 100
ID_MAX = 2**31 - 1
# Every id the API reads: positive, and within the database's integer columns.
Id = Annotated[int, Field(ge=1, le=ID_MAX)]
# Path ids take the same range: `/incidents/<int(min=1, max=2147483647):number>`.


class MemberRef(BaseModel):
    id: int
    name: str


class ChannelRef(BaseModel):
    id: int
    name: str


def member_ref(member: Member) -> MemberRef:
    return MemberRef(id=member.id, name=member.name)


def channel_ref(channel: Channel | None) -> ChannelRef | None:
    return ChannelRef(id=channel.id, name=channel.name) if channel is not None else None


class PageQuery(BaseModel):
    cursor: str | None = Field(
        default=None,
        pattern=r"^[0-9.]{1,40}$",
        description="`next_cursor` of the previous page.",
    )
    limit: int = Field(default=50, ge=1, le=PAGE_MAX, description="At most 100 a page.")
