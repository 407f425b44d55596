"""Cover requests: a member asks the others in the schedule to take a range; the first wins.

Asking writes the request and one `cover_card` outbox row per person in the same
transaction. Pressing "I'll cover" takes the request with a compare-and-set UPDATE
(`covered_by_id IS NULL AND withdrawn_at IS NULL`), so of two presses at once exactly one
creates the override; the other is told who took it. Withdrawing is the same kind of UPDATE
on the same row, so a withdrawal and a press at once end in exactly one of the two. Every
other copy of the card is then redrawn by the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from webapp.cardkit import answer as card_answer
from webapp.cardkit.answer import Answer, Outcome, Tone
from webapp.extensions import db
from webapp.identity.bindings import live_binding
from webapp.models import (
    CoverRequest,
    Delivery,
    DeliveryKind,
    LarkIntegration,
    Member,
    Schedule,
    ScheduleOverride,
    utcnow,
)
from webapp.oncall.schedule import shifts
from webapp.schedules import cards
from webapp.schedules.outbox import insert_once, page_url, reach
from webapp.schedules.service import ScheduleError, local_range


@dataclass
class Asked:
    request: CoverRequest
    asked: list[str] = field(default_factory=list)  # names of those the card goes to
    unreachable: list[str] = field(default_factory=list)  # in the schedule, not linked to Lark


def members_of(schedule: Schedule) -> list[Member]:
    """Everyone in any layer of the schedule, in the order they first appear."""
    ids: dict[int, None] = {}
    for layer in schedule.layers:
        ids.update(dict.fromkeys(int(i) for i in layer.member_ids))
    found = {
        m.id: m
        for m in db.session.scalars(
            select(Member).where(Member.id.in_(ids), Member.account_id == schedule.account_id)
        )
    }
    return [found[i] for i in ids if i in found]


def ask(schedule: Schedule, member: Member, start: str, end: str) -> Asked:
    """Ask for cover from local wall times (YYYY-MM-DDTHH:MM); raises ScheduleError."""
    lo, hi = local_range(schedule, start, end)
    now = utcnow()
    if hi <= now:
        raise ScheduleError(_("that range is over; ask for cover for a time still to come"))
    if not shifts(schedule, lo, hi, member):
        raise ScheduleError(_("you are not on call in that range, so there is nothing to cover"))
    if db.session.scalar(
        select(CoverRequest.id).where(
            CoverRequest.schedule_id == schedule.id,
            CoverRequest.member_id == member.id,
            CoverRequest.covered_by_id.is_(None),
            CoverRequest.withdrawn_at.is_(None),
            CoverRequest.starts_at < hi,
            CoverRequest.ends_at > lo,
        )
    ):
        raise ScheduleError(_("you already asked for cover in that range; nobody has taken it yet"))
    request = CoverRequest(schedule_id=schedule.id, member_id=member.id, starts_at=lo, ends_at=hi)
    db.session.add(request)
    db.session.flush()
    asked = Asked(request)
    for other in members_of(schedule):
        if other.id == member.id:
            continue
        found = reach(other)
        if found is None:
            asked.unreachable.append(other.name)
            continue
        integration, binding = found
        insert_once(
            integration,
            DeliveryKind.COVER_CARD,
            f"cover-{request.id}-{other.id}",
            now,
            receive=("open_id", binding.open_id),
            member_id=other.id,
            payload={"cover_request_id": request.id, "target": other.name},
        )
        asked.asked.append(other.name)
    if not asked.asked:
        db.session.rollback()
        raise ScheduleError(
            _("nobody else in this schedule is linked to Lark, so nobody can be asked")
        )
    db.session.commit()
    return asked


def is_press(value: Any) -> bool:
    """Whether a card callback's value is an "I'll cover" press (not an incident button)."""
    return isinstance(value, dict) and value.get("a") == cards.COVER_ACTION


def press(
    integration: LarkIntegration, open_id: str | None, message_id: str | None, value: Any
) -> Answer:
    """Someone pressed "I'll cover": take the request once, or say who already has."""
    locale = card_answer.platform_locale(integration)
    try:
        request_id = int(value.get("r"))
    except (TypeError, ValueError):
        request_id = 0
    request = db.session.get(CoverRequest, request_id)
    if request is None or request.schedule.account_id != integration.account_id:
        return _told(locale, Outcome.FORBIDDEN, lambda: _("This cover request no longer exists."))
    binding = live_binding(integration, open_id) if open_id else None
    if binding is None:
        return _told(locale, Outcome.NOT_LINKED, _not_linked)
    member = binding.member
    locale = member.locale if member.locale in ("zh", "en") else locale
    if member.id == request.member_id:
        return _told(
            locale, Outcome.FORBIDDEN, lambda: _("You asked for this cover; someone else takes it.")
        )
    if request.withdrawn_at is not None:
        name = request.member.name
        return _answer(
            request, locale, Outcome.STALE, lambda: _("%(name)s withdrew this request.", name=name)
        )
    if request.covered_by_id is None and request.ends_at <= utcnow():
        return _answer(request, locale, Outcome.CLOSED, lambda: _("This range is over."))
    if take(request.id, member.id, exclude=message_id):
        db.session.refresh(request)

        def text() -> str:
            name, when = request.member.name, _when(request)
            return _("You cover %(name)s %(when)s. Thank you!", name=name, when=when)

        return _answer(request, locale, Outcome.OK, text)
    db.session.refresh(request)
    if request.covered_by_id == member.id:  # the same press again (both channels, a retry)
        return _answer(request, locale, Outcome.OK, lambda: _("You are covering this."))
    if request.withdrawn_at is not None:  # withdrawn between the check above and the take
        name = request.member.name
        return _answer(
            request, locale, Outcome.STALE, lambda: _("%(name)s withdrew this request.", name=name)
        )
    taker = request.covered_by

    def taken_by() -> str:
        return _("Already taken by %(name)s.", name=taker.name if taker else _("someone"))

    return _answer(request, locale, Outcome.STALE, taken_by)


def take(request_id: int, member_id: int, exclude: str | None = None) -> bool:
    """Claim the request for `member_id`, create the override and queue the redraw of every
    other copy of the card (all but `exclude`, the pressed one), in one transaction.

    True for the one caller whose UPDATE found the request still open; everyone else
    changes nothing (PostgreSQL re-checks the WHERE after the first commit; SQLite
    serialises writers).
    """
    now = utcnow()
    claimed = db.session.execute(
        update(CoverRequest)
        .where(
            CoverRequest.id == request_id,
            CoverRequest.covered_by_id.is_(None),
            CoverRequest.withdrawn_at.is_(None),
        )
        .values(covered_by_id=member_id, covered_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        return False
    request = db.session.get(CoverRequest, request_id)
    assert request is not None
    override = ScheduleOverride(
        schedule_id=request.schedule_id,
        member_id=member_id,
        starts_at=request.starts_at,
        ends_at=request.ends_at,
    )
    db.session.add(override)
    db.session.flush()
    db.session.execute(
        update(CoverRequest)
        .where(CoverRequest.id == request_id)
        .values(override_id=override.id)
        .execution_options(synchronize_session=False)
    )
    redraw_copies(request, exclude)
    db.session.commit()
    return True


def request_of(schedule: Schedule, request_id: int) -> CoverRequest | None:
    request = db.session.get(CoverRequest, request_id)
    return request if request is not None and request.schedule_id == schedule.id else None


def withdraw(request: CoverRequest) -> None:
    """Withdraw a request nobody has taken yet and queue the redraw of every sent copy (one
    transaction); raises ScheduleError when it was taken or withdrawn meanwhile. Whoever may
    withdraw (the asker, an admin) is the caller's check."""
    request_id = request.id
    withdrawn = db.session.execute(
        update(CoverRequest)
        .where(
            CoverRequest.id == request_id,
            CoverRequest.covered_by_id.is_(None),
            CoverRequest.withdrawn_at.is_(None),
        )
        .values(withdrawn_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if withdrawn.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        now_is = db.session.get(CoverRequest, request_id)
        if now_is is not None and now_is.covered_by is not None:
            raise ScheduleError(
                _(
                    "%(name)s already took this request, so it can no longer be withdrawn",
                    name=now_is.covered_by.name,
                )
            )
        raise ScheduleError(_("this request was already withdrawn"))
    db.session.refresh(request)
    redraw_copies(request, exclude=None)
    db.session.commit()


def redraw_copies(request: CoverRequest, exclude: str | None) -> None:
    """A `cover_update` row for every sent copy of the card but the one pressed (its
    callback answer redraws it). Copies not sent yet are drawn as they are when sent (or,
    withdrawn, not sent at all)."""
    now = utcnow()
    sent = db.session.scalars(
        select(Delivery).where(
            Delivery.kind == DeliveryKind.COVER_CARD.value,
            Delivery.uuid.like(f"cover-{request.id}-%"),
            Delivery.message_id.is_not(None),
        )
    )
    for row in sent:
        if row.message_id == exclude:
            continue
        integration = db.session.get(LarkIntegration, row.integration_id)
        if integration is None:
            continue
        insert_once(
            integration,
            DeliveryKind.COVER_UPDATE,
            f"coverup-{request.id}-{row.id}",
            now,
            receive=(row.receive_id_type or "open_id", row.receive_id or ""),
            member_id=row.member_id,
            message_id=row.message_id,
            payload={"cover_request_id": request.id, "target": (row.payload or {}).get("target")},
        )


def _not_linked() -> str:
    return _(
        "Your Lark account is not linked to an on-call member yet. Open the on-call app "
        "from the workbench and sign in once, then press again."
    )


def _when(request: CoverRequest) -> str:
    """The range in the language being drawn (a toast is drawn in both)."""
    locale = get_locale()
    language = locale.language if locale is not None else "en"
    return cards.span(request.starts_at, request.ends_at, request.schedule.timezone, language)


def _told(locale: str, outcome: Outcome, text: card_answer.Text) -> Answer:
    return Answer(toast=card_answer.toast(Tone.WARNING, text, locale), card=None, outcome=outcome)


def _answer(request: CoverRequest, locale: str, outcome: Outcome, text: card_answer.Text) -> Answer:
    kind = Tone.SUCCESS if outcome is Outcome.OK else Tone.WARNING
    card = cards.cover_card(request, locale=locale, page_url=page_url(request.schedule))
    return Answer(toast=card_answer.toast(kind, text, locale), card=card, outcome=outcome)


def open_requests(schedule: Schedule, now: datetime) -> list[CoverRequest]:
    """The schedule's cover requests still to come (withdrawn ones too), for the page."""
    return list(
        db.session.scalars(
            select(CoverRequest)
            .where(CoverRequest.schedule_id == schedule.id, CoverRequest.ends_at > now)
            .order_by(CoverRequest.starts_at)
        )
    )
