"""The incident list's conditional GET: an ETag over what the list region shows.

The list refreshes itself every few seconds on every open homepage, and almost always
nothing changed. The tag covers everything the region draws: the rows' versions (any
change to an incident bumps its version), the counts, which rows exist (a new incident, or
one leaving the filter), how old each row reads ("5 minutes ago" moves on by itself), the
member, their role and seat, the language and time zone, the filters and the page size.
It is computed by one statement and compared before anything is rendered.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime

from flask import Response, request, session
from flask_babel import format_timedelta, get_locale, get_timezone
from flask_wtf.csrf import generate_csrf

from webapp.incidents import freshness, queries
from webapp.models import Member

# The region's forms carry CSRF tokens that expire (Flask-WTF: an hour); draw them anew
# at least this often, however quiet the list is.
TOKEN_BUCKET_S = 1800


def list_tag(
    member: Member, filters: queries.Filters, limit: int, now: datetime
) -> tuple[str, datetime | None]:
    shown = freshness.shown(member, filters, limit, now)
    generate_csrf()  # the session's CSRF secret exists before the region draws its tokens
    parts = [
        str(member.id),
        str(member.role),
        str(member.has_seat),
        str(get_locale()),
        str(get_timezone()),
        repr(sorted(filters.params().items())),
        str(limit),
        str(int(time.time() // TOKEN_BUCKET_S)),
        str(session.get("csrf_token", "")),
        repr(shown.counts),
    ]
    for row in shown.rows:
        snoozed = row.snoozed_until is not None and row.snoozed_until > now
        age = format_timedelta(row.created_at - now, add_direction=True)
        parts.append(f"{row.id}:{row.version}:{snoozed}:{age}")
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
    return digest, shown.last_modified


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
