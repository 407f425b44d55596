"""What a card button press answers: act through the incident service, then a toast and the
redrawn card. Every refusal says why and points at the page that fixes it.

Lark tells us nothing of the operator's language in a callback, so a toast carries both
languages (`i18n.zh_cn` / `i18n.en_us`, the client picks) and its `content` follows the
member's chosen language, else the platform's (Feishu: Chinese, Lark: English).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.orm import aliased, joinedload

from webapp.cardkit.answer import Answer, Outcome, Text, Tone, platform_locale, toast
from webapp.cards import actions as card_actions
from webapp.cards import render as cards
from webapp.cards.actions import CardAction, Click
from webapp.dispatch import war_rooms
from webapp.extensions import db
from webapp.identity import timezones
from webapp.identity.bindings import live_binding
from webapp.incidents import offers, wording
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor, InvalidTransition, NoSeat, NotAllowed, StaleVersion
from webapp.lark import applink
from webapp.models import (
    CardMessage,
    EventKind,
    Incident,
    LarkBinding,
    LarkIntegration,
    Member,
    Source,
    Status,
)

# Refusals that changed nothing and that the person can fix; pressing again is a new try.


@dataclass(frozen=True)
class Press:
    """A bound member's press, with the two languages it is answered in."""

    integration: LarkIntegration
    member: Member
    message_id: str | None
    click: Click
    locale: str  # the toast's: the member's choice, else the platform's
    card_locale: str  # the card's: as the outbox drew this message (see card_locale())
    card_zone: tzinfo  # the card's times: the member's in their direct chat, else the app's


def answer(
    integration: LarkIntegration, open_id: str | None, message_id: str | None, click: Click | None
) -> Answer:
    """Act on a press and say what happened. Runs inside `incidents.one_transaction()`."""
    locale = platform_locale(integration)
    if click is None:
        return _refusal(
            locale,
            Outcome.BAD_REQUEST,
            lambda: _("This button is from an older card. Press Refresh."),
        )
    incident, binding = _load(integration, open_id, click.incident_id)
    if binding is None:
        return _refusal(locale, Outcome.NOT_LINKED, _not_linked_text)
    if incident is None or incident.account_id != integration.account_id:
        return _refusal(locale, Outcome.FORBIDDEN, lambda: _("This incident no longer exists."))
    member = binding.member
    press = Press(
        integration,
        member,
        message_id,
        click,
        locale=member.locale if member.locale in ("zh", "en") else locale,
        card_locale=card_locale(integration, member, message_id, incident.card_messages),
        card_zone=timezones.zone_for(
            member if is_direct(integration, message_id, incident.card_messages) else None,
            integration,
        ),
    )
    return _act(press, incident)


def _load(
    integration: LarkIntegration, open_id: str | None, incident_id: int
) -> tuple[Incident | None, LarkBinding | None]:
    """The incident, locked, with all its card shows, and the presser's live binding and
    member: one statement."""
    if not open_id:
        return None, None
    params = {"integration": integration.id, "open_id": open_id, "incident": incident_id}
    rows = incidents.lock_rows(_LOAD, params)
    if not rows:
        return None, live_binding(integration, open_id)
    incident, binding = rows[0]
    return incident, binding


def _load_statement() -> Select[Any]:
    acknowledged_by, closed_by = aliased(Member), aliased(Member)
    return (
        select(Incident, LarkBinding)
        .outerjoin(
            LarkBinding,
            and_(
                LarkBinding.integration_id == bindparam("integration"),
                LarkBinding.open_id == bindparam("open_id"),
                LarkBinding.ended_at.is_(None),
            ),
        )
        .where(Incident.id == bindparam("incident"))
        .options(
            joinedload(LarkBinding.member),
            joinedload(Incident.channel),
            joinedload(Incident.acknowledged_by.of_type(acknowledged_by)),
            joinedload(Incident.closed_by.of_type(closed_by)),
            joinedload(Incident.assignees),
            joinedload(Incident.responders),
            joinedload(Incident.card_messages),
        )
    )


_LOAD = _load_statement()  # every press runs it: built once


def repeat_answer(
    integration: LarkIntegration,
    open_id: str | None,
    message_id: str | None,
    click: Click | None,
    first: Answer,
) -> Answer:
    """A press seen before. The action is not taken again, but the answer is drawn from the
    incident as it is now: replaying the first success after the incident moved on (say, a
    resolve since) would show a stale success toast and roll the card back."""
    if click is None or first.outcome is not Outcome.OK:
        return first
    incident = db.session.get(Incident, click.incident_id)
    if incident is None or incident.version == click.version + 1:
        return first  # nothing happened since the first answer: it is still true
    # The click's version is old, so the service refuses it and says what changed.
    return answer(integration, open_id, message_id, click)


def card_locale(
    integration: LarkIntegration,
    member: Member,
    message_id: str | None,
    card_messages: list[CardMessage] | None = None,
) -> str:
    """A card in someone's direct chat speaks their language; a group's card the platform's
    (the outbox draws them the same way, so the answer does not flip the language)."""
    if member.locale not in ("zh", "en") or message_id is None:
        return platform_locale(integration)
    direct = is_direct(integration, message_id, card_messages)
    return str(member.locale) if direct else platform_locale(integration)


def is_direct(
    integration: LarkIntegration,
    message_id: str | None,
    card_messages: list[CardMessage] | None = None,
) -> bool:
    """Whether the message is a card in one person's direct chat (not a group's); from the
    incident's card messages when they are loaded already."""
    if message_id is None:
        return False
    if card_messages is not None:
        return any(
            c.integration_id == integration.id
            and c.message_id == message_id
            and c.receive_id_type != "chat_id"
            for c in card_messages
        )
    found = db.session.execute(
        select(CardMessage.id).where(
            CardMessage.integration_id == integration.id,
            CardMessage.message_id == message_id,
            CardMessage.receive_id_type != "chat_id",
        )
    ).first()
    return found is not None


def _act(press: Press, incident: Incident) -> Answer:
    click = press.click
    if click.action is CardAction.REFRESH:
        if not incidents.may_view(press.member, incident):
            return _forbidden(press, incident)
        return _with_card(press, incident, Tone.INFO, Outcome.OK, lambda: _("Card refreshed."))
    actor = Actor(press.member, Source.CARD, message_id=press.message_id)
    try:
        done = card_actions.perform(incident, actor, click)
    except NoSeat:
        return _no_seat(press, incident)
    except NotAllowed:
        return _forbidden(press, incident)
    except (StaleVersion, InvalidTransition) as refused:
        current = refused.incident or incident  # read under the row lock: current
        outcome = Outcome.CLOSED if current.status is Status.CLOSED else Outcome.STALE
        text = lambda: _changed(current, click)  # noqa: E731
        return _with_card(press, current, Tone.WARNING, outcome, text)
    return _with_card(press, done, Tone.SUCCESS, Outcome.OK, lambda: _done(click, done))


def error_answer(integration: LarkIntegration | None, request_id: str) -> Answer:
    text = lambda: _(  # noqa: E731
        "Something went wrong (request %(id)s). Press Refresh to see the current state.",
        id=request_id,
    )
    locale = platform_locale(integration) if integration is not None else "en"
    return _refusal(locale, Outcome.ERROR, text, kind=Tone.ERROR)


def in_flight_answer(integration: LarkIntegration) -> Answer:
    text = lambda: _("This press is already being handled. Press Refresh in a moment.")  # noqa: E731
    return Answer(
        toast=toast(Tone.INFO, text, platform_locale(integration)), card=None, outcome=Outcome.STALE
    )


# -- refusals --------------------------------------------------------------------------


def _not_linked_text() -> str:
    return _(
        'Your Lark account is not linked to an on-call member yet. Tap "Open in web app" on '
        "this card and sign in once to link it, then press the button again."
    )


def _no_seat(press: Press, incident: Incident) -> Answer:
    text = lambda: _(  # noqa: E731
        "You have no license seat, so you cannot act on incidents. An account admin can "
        "assign you one on the License page."
    )
    notice = _notice(press, incident, Outcome.NO_SEAT, text, lambda: _("Open the License page"))
    card = _render(press, incident, notice)
    return _refusal(press.locale, Outcome.NO_SEAT, text, incident, card=card)


def _forbidden(press: Press, incident: Incident) -> Answer:
    text = lambda: _(  # noqa: E731
        "You do not have access to this incident. Ask an admin to add you to its channel."
    )
    notice = _notice(press, incident, Outcome.FORBIDDEN, text, lambda: _("Open in web app"))
    card = _render(press, incident, notice)
    return _refusal(press.locale, Outcome.FORBIDDEN, text, incident, card=card)


def _notice(
    press: Press, incident: Incident, reason: Outcome, text: Text, label: Text
) -> cards.Notice:
    """Shown under the shared card, so it names the fix but never the person."""
    url = applink.web_app_url(press.integration, f"card/fix/{reason}?n={incident.number}")
    with force_locale(press.card_locale):
        prefix = _("A button press was refused:")
        return cards.Notice(text=f"{prefix} {text()}", link_label=label(), url=url)


def _refusal(
    locale: str,
    outcome: Outcome,
    text: Text,
    incident: Incident | None = None,
    *,
    card: dict[str, Any] | None = None,
    kind: Tone = Tone.WARNING,
) -> Answer:
    return Answer(
        toast=toast(kind, text, locale),
        card=card,
        outcome=outcome,
        incident_id=incident.id if incident else None,
    )


# -- toasts and cards ------------------------------------------------------------------


def _with_card(
    press: Press, incident: Incident, kind: Tone, outcome: Outcome, text: Text
) -> Answer:
    return Answer(
        toast=toast(kind, text, press.locale),
        card=_render(press, incident),
        outcome=outcome,
        incident_id=incident.id,
    )


def _render(press: Press, incident: Incident, notice: cards.Notice | None = None) -> dict[str, Any]:
    return cards.incident_card(
        incident,
        locale=press.card_locale,
        web_url=applink.incident_url(press.integration, incident.number),
        notice=notice,
        zone=press.card_zone,
    )


def _done(click: Click, incident: Incident) -> str:
    if click.action is CardAction.WAR_ROOM:
        return war_rooms.status_words(war_rooms.room_of(incident))
    return offers.done_text(card_actions.VERB_OF[click.action], incident.number, click.minutes)


def _changed(incident: Incident, click: Click) -> str:
    """Why a press did nothing: "Already acknowledged by Li Lei 2 minutes ago." and the like."""
    if incident.status is Status.CLOSED:
        return wording.already(EventKind.RESOLVED, incident.closed_by, incident.closed_at)
    if incident.status is Status.PROCESSING and click.action is CardAction.ACKNOWLEDGE:
        return wording.already(
            EventKind.ACKNOWLEDGED, incident.acknowledged_by, incident.acknowledged_at
        )
    return wording.stale_message(incident)
