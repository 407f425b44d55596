"""A forgotten password: reset by an e-mailed link, or by an admin.

The link carries a token signed with SECRET_KEY (itsdangerous) that names the member and a
digest of their current password hash, and expires after RESET_MAX_AGE. Setting a password
changes the hash, so a used link (or one sent before another reset) no longer opens: single
use without a table. Where SMTP_URL is unset no mail can leave, and the pages say an admin
resets the password from the members page instead.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from email.message import EmailMessage

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from webapp import mailer, ratelimit
from webapp.extensions import db
from webapp.identity import licensing, sessions, sign_in
from webapp.models import Account, LarkIntegration, Member, Role

log = logging.getLogger(__name__)

RESET_MAX_AGE = 60 * 60  # seconds a reset link stays valid
MIN_LENGTH = 10
_SALT = "password-reset"


class PasswordRefused(Exception):
    """The new password or the new member cannot be saved; the message says why."""


class WrongCurrentPassword(PasswordRefused):
    """The current password given with a change was wrong: nothing changed."""


def can_email() -> bool:
    return mailer.settings() is not None


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _fingerprint(member: Member) -> str:
    return hashlib.sha256((member.password_hash or "").encode()).hexdigest()[:16]


def reset_token(member: Member) -> str:
    return str(_serializer().dumps({"m": member.id, "h": _fingerprint(member)}))


def member_for_token(token: str) -> Member | None:
    """The member a reset link was made for, while it is fresh and unused; else None."""
    try:
        data = _serializer().loads(token, max_age=RESET_MAX_AGE)
    except BadSignature:  # also SignatureExpired
        return None
    if not isinstance(data, dict):
        return None
    member = db.session.get(Member, data.get("m"))
    if member is None or not secrets.compare_digest(str(data.get("h")), _fingerprint(member)):
        return None
    return member


def send_reset_link(email: str, client: str) -> None:
    """E-mail a reset link when `email` is a member's; the same silence when it is not, so
    the form tells nobody which e-mails exist. Limited per client like sign-in."""
    email = email.strip().lower()
    limiter = ratelimit.limiter()
    if not limiter.hit(ratelimit.LOGIN_PER_ADDRESS, "reset-ip", client):
        return
    if not limiter.hit(ratelimit.LOGIN_PER_ACCOUNT, "reset-email", email):
        return  # ten links per 15 minutes are plenty; more would flood the member's inbox
    member = db.session.execute(
        select(Member).where(func.lower(Member.email) == email)
    ).scalar_one_or_none()
    if member is not None:
        mail_reset_link(member)


def mail_reset_link(member: Member) -> bool:
    """Send the member a reset link now; False (logged) when the mail server fails."""
    if not can_email():
        return False
    link = url_for("auth.reset_password", token=reset_token(member), _external=True)
    with force_locale(member.locale or "en"):
        message = EmailMessage()
        message["To"] = member.email
        message["Subject"] = _("Reset your On-call password")
        message.set_content(
            _(
                "To choose a new password for %(email)s, open this link within an hour:\n\n"
                "%(link)s\n\nIt works once. If you did not ask for it, ignore this e-mail.",
                email=member.email,
                link=link,
            )
        )
    try:
        mailer.send(message)
    except mailer.MailError:
        log.exception("could not e-mail member %s a password reset link", member.id)
        return False
    return True


def check_new(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise PasswordRefused(_("Use at least %(n)d characters.", n=MIN_LENGTH))
    if len(password) > 200:
        raise PasswordRefused(_("Use at most 200 characters."))


def set_new(member: Member, password: str) -> None:
    """The member's new password; ends their sessions (and so every older reset link)."""
    check_new(password)
    sessions.change_password(member, password)


def change_own(member: Member, current: str, new: str, client: str) -> int:
    """A signed-in member's own change: the current password first, then the length rules.
    Every other browser is signed out, this one stays; returns how many were signed out.
    Raises sign_in.TooManyAttempts after ten wrong current passwords from `client`."""
    if not sign_in.check_current(member, current, client):
        raise WrongCurrentPassword(_("That is not your current password."))
    check_new(new)
    return sessions.change_own_password(member, new)


def temporary(member: Member) -> str:
    """An admin's reset: a fresh random password to hand to the member, returned once."""
    password = secrets.token_urlsafe(9)
    sessions.change_password(member, password)
    return password


def add_member(account: Account, name: str, email: str) -> tuple[Member, str]:
    """A new plain member (no seat) and their temporary password, returned once."""
    name, email = name.strip(), email.strip().lower()
    if not name or len(name) > 120:
        raise PasswordRefused(_("Enter the member's name (at most 120 characters)."))
    if "@" not in email or len(email) > 254:
        raise PasswordRefused(_("Enter the member's e-mail address."))
    taken = db.session.execute(select(Member.id).where(func.lower(Member.email) == email)).first()
    if taken is not None:
        raise PasswordRefused(_("%(email)s is already a member.", email=email))
    member = Member(account=account, name=name, email=email, role=Role.MEMBER, has_seat=False)
    db.session.add(member)
    try:
        db.session.flush()
    except IntegrityError:  # the same e-mail added by another admin a moment ago
        db.session.rollback()
        raise PasswordRefused(_("%(email)s is already a member.", email=email)) from None
    return member, temporary(member)


def admins_behind(integration_key: str) -> list[Member]:
    """The admins of the account an integration belongs to."""
    integration = db.session.execute(
        select(LarkIntegration).where(LarkIntegration.key == integration_key)
    ).scalar_one_or_none()
    return licensing.admins_of(integration.account) if integration is not None else []
