"""Checking an e-mail and password without telling which e-mails exist, and the lockout.

An unknown e-mail costs the same hash check as a known one (a dummy hash of the same
method). Wrong passwords are counted per e-mail *and* client address: ten from one client
lock that e-mail out there for 15 minutes, while the member can still sign in from
elsewhere, so a stranger cannot lock a member out of their own account. Every attempt also
counts against the client address (30 per 15 minutes).
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from functools import cache

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from webapp import mailer, ratelimit
from webapp.extensions import db
from webapp.models import Member

log = logging.getLogger(__name__)


class TooManyAttempts(Exception):
    """This client may not try this e-mail (or any e-mail) again for now."""


def check_credentials(email: str, password: str, client: str) -> Member | None:
    """The member these credentials sign in, or None; raises TooManyAttempts when locked."""
    email = email.strip().lower()
    limiter = ratelimit.limiter()
    if not limiter.test(ratelimit.LOGIN_PER_ACCOUNT, "login-email", email, client):
        raise TooManyAttempts
    if not limiter.hit(ratelimit.LOGIN_PER_ADDRESS, "login-ip", client):
        raise TooManyAttempts
    member = db.session.execute(
        select(Member).where(func.lower(Member.email) == email)
    ).scalar_one_or_none()
    if member is not None and member.check_password(password):
        return member
    if member is None:
        check_password_hash(_dummy_hash(_method()), password)  # the same time as a known e-mail
    limiter.hit(ratelimit.LOGIN_PER_ACCOUNT, "login-email", email, client)
    if member is not None and not limiter.test(
        ratelimit.LOGIN_PER_ACCOUNT, "login-email", email, client
    ):
        tell_member_locked_out(member, client)
    return None


def tell_member_locked_out(member: Member, client: str) -> None:
    """Tell the member by e-mail (where SMTP_URL is set) that sign-in was locked after ten
    wrong passwords from `client`. Sent at once, not through the outbox: it belongs to no
    incident, and a mail server that fails must never fail the sign-in page (it is logged)."""
    log.warning(
        "sign-in for member %s locked for 15 minutes after wrong passwords from %s",
        member.id,
        client,
    )
    if mailer.settings() is None or not member.email:
        return
    with force_locale(member.locale or "en"):
        message = EmailMessage()
        message["To"] = member.email
        message["Subject"] = _("Sign-in to On-call locked for 15 minutes")
        message.set_content(
            _(
                "Ten wrong passwords were tried for %(email)s from %(client)s, so sign-in from "
                "there is locked for 15 minutes. If this was not you, change your password "
                "after the lock lifts and tell your account admin.",
                email=member.email,
                client=client,
            )
        )
    try:
        mailer.send(message)
    except mailer.MailError:
        log.exception("could not e-mail member %s about the sign-in lock", member.id)


def _method() -> str:
    return str(current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))


@cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash("not anyone's password", method=method)


def check_current(member: Member, password: str, client: str) -> bool:
    """A signed-in member's current password, given to change it. Wrong ones count against
    the same per e-mail and client lock as sign-in, so a borrowed session cannot guess it."""
    email = (member.email or "").strip().lower()
    limiter = ratelimit.limiter()
    if not limiter.test(ratelimit.LOGIN_PER_ACCOUNT, "login-email", email, client):
        raise TooManyAttempts
    if member.check_password(password):
        return True
    limiter.hit(ratelimit.LOGIN_PER_ACCOUNT, "login-email", email, client)
    return False
