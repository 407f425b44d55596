"""Notification rules: per member and severity, ordered steps "after N minutes
unacknowledged: card / in-app buzz / SMS buzz / phone buzz / e-mail", with quiet hours.

A member without rules of their own follows the account's defaults (set by an admin); an
account without defaults follows `BUILT_IN`, the starting ladder the product ships with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from webapp.extensions import db
from webapp.models import Member, PagingRule, PagingSettings, Severity, utcnow

CARD, APP, SMS, PHONE, EMAIL = "card", "app", "sms", "phone", "email"
VIAS = (CARD, APP, SMS, PHONE, EMAIL)
BUZZES = (APP, SMS, PHONE)  # Lark's urgent_app / urgent_sms / urgent_phone
PAID = (SMS, PHONE)  # these use the tenant's buzz quota
MAX_STEPS = 6
MAX_AFTER = 24 * 60  # a step later than a day is no longer a page

VIA_WORDS = {
    CARD: _l("card"),
    APP: _l("in-app buzz"),
    SMS: _l("SMS buzz"),
    PHONE: _l("phone buzz"),
    EMAIL: _l("e-mail"),
}


@dataclass(frozen=True)
class Step:
    after: int  # minutes after the person was told, still unacknowledged
    via: str


@dataclass(frozen=True)
class Ladder:
    severity: str
    steps: tuple[Step, ...]
    quiet: bool  # no buzz for this severity in the quiet hours
    quiet_start: int  # minutes of the day, in the member's time zone
    quiet_end: int
    source: str  # "own" | "account" | "built_in"


def _built_in(severity: str, steps: list[tuple[int, str]], quiet: bool) -> Ladder:
    return Ladder(severity, tuple(Step(a, v) for a, v in steps), quiet, 22 * 60, 7 * 60, "built_in")


# Critical: card and in-app buzz at once, phone buzz after 5 minutes; Warning: card, in-app
# buzz after 10; Info: card only, and never a buzz in the quiet hours.
BUILT_IN = {
    Severity.CRITICAL.value: _built_in(
        Severity.CRITICAL.value, [(0, CARD), (0, APP), (5, PHONE)], False
    ),
    Severity.WARNING.value: _built_in(Severity.WARNING.value, [(0, CARD), (10, APP)], False),
    Severity.INFO.value: _built_in(Severity.INFO.value, [(0, CARD)], True),
}
SEVERITIES = tuple(BUILT_IN)


class RuleError(ValueError):
    """A rule a person wrote that cannot be kept; the message says what to change."""


def _ladder(row: PagingRule, source: str) -> Ladder:
    steps = tuple(Step(int(s.get("after", 0)), str(s.get("via", ""))) for s in row.steps or [])
    return Ladder(row.severity, steps, row.quiet, row.quiet_start, row.quiet_end, source)


def account_ladders(account_id: int) -> dict[str, Ladder]:
    rows = db.session.scalars(
        select(PagingRule).where(
            PagingRule.account_id == account_id, PagingRule.member_id.is_(None)
        )
    )
    found = {row.severity: _ladder(row, "account") for row in rows}
    return {s: found.get(s, BUILT_IN[s]) for s in SEVERITIES}


def member_ladders(member: Member) -> dict[str, Ladder]:
    """The ladders that apply to `member`, each saying whose it is."""
    rows = db.session.scalars(select(PagingRule).where(PagingRule.member_id == member.id))
    own = {row.severity: _ladder(row, "own") for row in rows}
    defaults = account_ladders(member.account_id)
    return {s: own.get(s, defaults[s]) for s in SEVERITIES}


def ladder_for(member: Member, severity: str) -> Ladder:
    return member_ladders(member)[severity]


def parse_steps(pairs: list[tuple[str, str]]) -> list[Step]:
    """(minutes, via) pairs from a form, blank rows left out; the card always comes first."""
    steps: list[Step] = []
    for after, via in pairs:
        if not via:
            continue
        if via not in VIAS:
            raise RuleError(_l("Choose card, in-app buzz, SMS buzz, phone buzz or e-mail."))
        try:
            minutes = int(after or 0)
        except ValueError:
            raise RuleError(_l("Minutes must be a whole number.")) from None
        if not 0 <= minutes <= MAX_AFTER:
            raise RuleError(_l("Minutes must be between 0 and 1440 (a day)."))
        steps.append(Step(minutes, via))
    if len(steps) > MAX_STEPS:
        raise RuleError(_l("At most six steps."))
    if [s.via for s in steps].count(CARD) > 1 or any(s.via == CARD and s.after for s in steps):
        raise RuleError(_l("The card goes out once, when you are told (after 0 minutes)."))
    cards = [s for s in steps if s.via == CARD] or [Step(0, CARD)]
    rest = sorted((s for s in steps if s.via != CARD), key=lambda s: s.after)
    return cards + rest


def parse_clock(text: str) -> int:
    """ "22:00" -> minutes of the day."""
    try:
        hours, minutes = (int(part) for part in text.split(":"))
    except ValueError:
        raise RuleError(_l("Write quiet hours as HH:MM, for example 22:00.")) from None
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise RuleError(_l("Write quiet hours as HH:MM, for example 22:00."))
    return hours * 60 + minutes


def save(
    account_id: int,
    member: Member | None,
    severity: str,
    steps: list[Step],
    quiet: bool,
    window: tuple[int, int],
) -> PagingRule:
    """Keep one severity's ladder for a member (or the account's default when None)."""
    if severity not in SEVERITIES:
        raise RuleError(_l("Unknown severity."))
    member_id = member.id if member is not None else None
    row = db.session.scalars(
        select(PagingRule).where(
            PagingRule.account_id == account_id,
            PagingRule.member_id.is_(None)
            if member_id is None
            else PagingRule.member_id == member_id,
            PagingRule.severity == severity,
        )
    ).first()
    if row is None:
        row = PagingRule(account_id=account_id, member_id=member_id, severity=severity)
        db.session.add(row)
    row.steps = [{"after": s.after, "via": s.via} for s in steps]
    row.quiet = quiet
    row.quiet_start, row.quiet_end = window
    row.updated_at = utcnow()
    return row


def forget_own(member: Member) -> None:
    """The member follows the account's defaults again, and commit."""
    db.session.execute(delete(PagingRule).where(PagingRule.member_id == member.id))
    db.session.commit()


def settings_of(account_id: int) -> PagingSettings:
    found = db.session.get(PagingSettings, account_id)
    return found or PagingSettings(account_id=account_id, reserve_phone_for_critical=False)


def reserve_phone(account_id: int, reserved: bool) -> None:
    found = db.session.get(PagingSettings, account_id)
    if found is None:
        found = PagingSettings(account_id=account_id)
        db.session.add(found)
    found.reserve_phone_for_critical = reserved


def as_form(ladder: Ladder) -> dict[str, Any]:
    return {
        "steps": [{"after": s.after, "via": s.via} for s in ladder.steps],
        "quiet": ladder.quiet,
        "quiet_start": f"{ladder.quiet_start // 60:02d}:{ladder.quiet_start % 60:02d}",
        "quiet_end": f"{ladder.quiet_end // 60:02d}:{ladder.quiet_end % 60:02d}",
    }


def save_all(
    account_id: int,
    member: Member | None,
    ladders: dict[str, tuple[list[Step], bool]],
    window: tuple[int, int],
) -> None:
    """Keep every severity's ladder and the quiet hours in one go, and commit."""
    for severity, (steps, quiet) in ladders.items():
        save(account_id, member, severity, steps, quiet, window)
    db.session.commit()


def read_form(form: Any) -> tuple[dict[str, tuple[list[Step], bool]], tuple[int, int]]:
    """The rules form (fields `<severity>-after-<n>`, `<severity>-via-<n>`, `<severity>-quiet`,
    `quiet_start`, `quiet_end`) as ladders; RuleError names what to change."""
    ladders = {}
    for severity in SEVERITIES:
        pairs = [
            (str(form.get(f"{severity}-after-{n}", "")), str(form.get(f"{severity}-via-{n}", "")))
            for n in range(MAX_STEPS + 1)
        ]
        try:
            steps = parse_steps(pairs)
        except RuleError as error:
            raise RuleError(f"{_(severity)}: {error}") from None
        ladders[severity] = (steps, bool(form.get(f"{severity}-quiet")))
    window = (
        parse_clock(str(form.get("quiet_start", ""))),
        parse_clock(str(form.get("quiet_end", ""))),
    )
    return ladders, window
