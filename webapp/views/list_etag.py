"""The incident list's conditional GET: an ETag over what the list region shows.

The list refreshes itself every few seconds on every open homepage, and almost always
nothing changed. The tag covers everything the region draws: each row as the row memo keys
it (`list_rows.reads`: the columns, the channel's and the assignees' names, whether it is
snoozed, how old it reads), the counts, which rows exist (a new incident, or one leaving the
filter), the member, their role and seat, the language and time zone, the filters and the
page size.
It is computed by one statement and compared before anything is rendered; while one index
probe says nothing in the account changed since, the names the rows drew still read the
same, and no shown age or snooze moved on, the last tag stands without even that statement
(`list_tag`).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Response, current_app, request, session
from flask_babel import get_locale, get_timezone
from flask_wtf.csrf import generate_csrf

from webapp.i18n import ago_reads_until
from webapp.incidents import freshness, memo, queries, rows
from webapp.models import Member
from webapp.views import list_rows

# The region's forms carry CSRF tokens that expire (Flask-WTF: an hour); draw them anew
# at least this often, however quiet the list is.
TOKEN_BUCKET_S = 1800


@dataclass(frozen=True)
class Look:
    """What one full look at a member's view found, and how long it stands."""

    tag: str
    last_modified: datetime | None
    counts: queries.Counts  # the region draws these: no second count for a render
    at: datetime
    since: datetime  # the change detector's window starts here
    marks: tuple[int, ...]
    until: datetime  # a row's age or a snooze moves on by then
    names: rows.Names  # the channels' and people's names the rows drew


# One look per member's view, app and process; bounded: the oldest half goes when it is full.
_LOOKS_MAX = 4096
# However quiet the account, the list itself is looked at again at least this often.
LOOK_AGAIN = timedelta(seconds=60)


def list_tag(member: Member, filters: queries.Filters, limit: int, now: datetime) -> Look:
    """The region's tag. While nothing in the account changed (one index probe says so) and
    no shown age or snooze has moved on, the tag of the last full look stands."""
    generate_csrf()  # the session's CSRF secret exists before the region draws its tokens
    view = (
        member.id,
        member.account_id,
        str(member.role),
        member.has_seat,
        str(get_locale()),
        str(get_timezone()),
        repr(sorted(filters.params().items())),
        limit,
        int(time.time() // TOKEN_BUCKET_S),
        str(session.get("csrf_token", "")),
    )
    looks: memo.Store[Look] = current_app.extensions.setdefault(
        "list_looks", memo.Store(_LOOKS_MAX)
    )
    look = looks.get(view)
    since, marks = None, None
    # The window of the last look is kept while it is short, so a changed list costs one
    # probe, not two; a clock set back (tests travel) starts afresh.
    if look is not None and look.at <= now and look.since >= now - 3 * freshness.SETTLE:
        since, marks = look.since, freshness.changes(member, look.since)
        if now < look.until and marks == look.marks and rows.names_now(look.names) == look.names:
            return look
    look = _look(member, filters, limit, now, view, since, marks)
    looks.put(view, look)
    return look


def _look(
    member: Member,
    filters: queries.Filters,
    limit: int,
    now: datetime,
    view: tuple[Any, ...],
    since: datetime | None,
    marks: tuple[int, ...] | None,
) -> Look:
    if since is None or marks is None:
        since = now - freshness.SETTLE
        marks = freshness.changes(member, since)  # before the look: a change in between shows
    shown = freshness.shown(member, filters, limit, now)
    parts = [repr(view), repr(shown.counts)]
    until = [now + LOOK_AGAIN]
    if shown.next_wake is not None:
        until.append(shown.next_wake)
    for row in shown.rows:
        parts.append(repr(list_rows.reads(row, now)))
        until.append(ago_reads_until(row.created_at, now))
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
    counts = queries.Counts(dict(zip(queries.COUNTED, shown.counts, strict=True)))
    names = rows.names_drawn(shown.rows)
    return Look(digest, shown.last_modified, counts, now, since, marks, min(until), names)


def not_modified(tag: str) -> bool:
    return request.if_none_match.contains_weak(tag)


def answer_304(tag: str, last_modified: datetime | None) -> Response:
    response = Response(status=304)
    mark(response, tag, last_modified)
    return response


def mark(response: Response, tag: str, last_modified: datetime | None) -> None:
    """Weak: the same region compressed or not (flask-compress leaves weak tags alone)."""
    response.set_etag(tag, weak=True)
    if last_modified is not None:
        response.last_modified = last_modified
    # Cache it, but ask us every time: the browser sends If-None-Match on the next refresh.
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.add("HX-Request")
