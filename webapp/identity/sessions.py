"""Server-side session records: signing out anywhere ends every copy of the cookie.

The signed Flask cookie carries only a random session id (`session["sid"]`); the database
keeps its SHA-256 in `login_sessions` with the member, when it began, when it was last seen
and when it ended. flask-login's user loader asks `member_for_request`, so a copied cookie
stops working the moment its row ends: sign-out, switch account, a password change, an
admin's "sign out everywhere", `SESSION_IDLE_HOURS` without a request, or
`SESSION_MAX_DAYS` after sign-in. Every sign-in gets a fresh id.

Chosen over Flask-Session: the same protection with one small table in the database we
already run (PostgreSQL shared by every worker, SQLite embedded), no new dependency, and
"sign out everywhere" is one UPDATE over a member's rows.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, request, session
from flask_login import login_user, logout_user
from sqlalchemy import bindparam, select, update

from webapp.extensions import db
from webapp.models import LoginSession, Member, utcnow

SESSION_ID = "sid"
# last_seen_at is written at most this often, so reading a page is not a write each time.
_TOUCH_EVERY = timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(member: Member) -> None:
    """Start a new session record (a fresh id, whatever the cookie held) and sign in."""
    end_current()
    session[SESSION_ID] = start_record(member, request.headers.get("User-Agent", ""))
    login_user(member)


def start_record(member: Member, user_agent: str) -> str:
    """A new live session record; returns the id the cookie carries (stored only hashed)."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        LoginSession(token_hash=_hash(token), member_id=member.id, user_agent=user_agent[:200])
    )
    db.session.commit()
    return token


def sign_out() -> None:
    """End this browser's session record and the flask-login session."""
    end_current()
    logout_user()


def end_current() -> None:
    token = session.pop(SESSION_ID, None)
    if isinstance(token, str):
        db.session.execute(
            update(LoginSession)
            .where(LoginSession.token_hash == _hash(token), LoginSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )
        db.session.commit()


def end_everywhere(member: Member) -> int:
    """Sign the member out of every browser (an admin's "sign out everywhere"); returns how many."""
    result = db.session.execute(
        update(LoginSession)
        .where(LoginSession.member_id == member.id, LoginSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
    db.session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def change_password(member: Member, password: str) -> int:
    """A new password ends every session of the member, this one included; returns how many."""
    member.set_password(password)
    db.session.commit()
    return end_everywhere(member)


# Every signed-in request runs it: built once.
_RECORD = select(LoginSession).where(LoginSession.token_hash == bindparam("token_hash"))


def member_for_request(member_id: str) -> Member | None:
    """flask-login's user loader: the member only while this cookie's record is live."""
    token = session.get(SESSION_ID)
    if not member_id.isdigit() or not isinstance(token, str):
        return None
    record = db.session.scalars(_RECORD, {"token_hash": _hash(token)}).first()
    now = utcnow()
    if record is None or record.ended_at is not None or record.member_id != int(member_id):
        return None
    idle = timedelta(hours=current_app.config["SESSION_IDLE_HOURS"])
    lifetime = timedelta(days=current_app.config["SESSION_MAX_DAYS"])
    if now - record.last_seen_at > idle or now - record.created_at > lifetime:
        record.ended_at = now
        db.session.commit()
        return None
    if now - record.last_seen_at > _TOUCH_EVERY:
        record.last_seen_at = now
        db.session.commit()
    return db.session.get(Member, record.member_id)


def change_own_password(member: Member, new_password: str) -> int:
    """The member changed their own password: every other browser is signed out, this one
    stays signed in on a fresh session id. Returns how many other sessions ended."""
    ended = change_password(member, new_password)
    sign_in(member)
    return max(ended - 1, 0)


def sign_out_everywhere(member: Member) -> int:
    """End every session of the member, this browser's included; returns how many."""
    ended = end_everywhere(member)
    session.pop(SESSION_ID, None)
    logout_user()
    return ended
