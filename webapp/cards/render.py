"""The incident card (Lark card JSON 2.0), drawn from the incident's current state.

The card is shared (`config.update_multi: true`): one update, by the callback's answer or
the outbox's PATCH, reaches every viewer of that message. Every button carries a small
versioned value (see webapp/cards/actions.py). Text people typed (titles, labels) goes in
`plain_text`, never in markdown, so an alert cannot smuggle an @all or a link into a card.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from webapp import i18n
from webapp.cardkit import parts
from webapp.cards.actions import (
    ACTION_OF,
    CARD_SILENCE_MINUTES,
    CARD_SNOOZE_MINUTES,
    CardAction,
    button_value,
)
from webapp.extensions import db
from webapp.incidents import offers
from webapp.incidents.alert_list import alert_mark
from webapp.incidents.offers import Verb
from webapp.incidents.states import State, state_of, state_words
from webapp.lark.client import wire_bytes
from webapp.models import Alert, EventKind, Incident, Member, Severity, Status, utcnow
from webapp.oncall.targets import on_call_for_channel
from webapp.silences import quick
from webapp.silences import words as silence_words

# Lark's limit is 30 KB for the whole request body, measured as sent (docs/lark/cards.md);
# leave room for the envelope.
MAX_CARD_BYTES = 28 * 1024
MAX_TITLE = 200
MAX_DESCRIPTION = 600
MAX_LABELS = 12

# Times on a card are text with their offset. A card in someone's direct chat uses their
# zone (webapp/identity/timezones.py); a group's card the integration's (Lark gives no
# viewer time zone to a shared card). Without one: China time in Chinese, else UTC.
_ZONES: dict[str, tzinfo] = {"zh": ZoneInfo("Asia/Shanghai"), "en": UTC}

# Header colour (Lark's header `template`) by state; the state is also written as text.
_TRIGGERED_COLOURS = {Severity.CRITICAL: "red", Severity.WARNING: "orange", Severity.INFO: "yellow"}
_STATE_COLOURS = {State.RESOLVED: "green", State.SNOOZED: "neutral", State.ACKNOWLEDGED: "blue"}


@dataclass(frozen=True)
class Notice:
    """A refusal shown under the card: why, and a link to the page that fixes it."""

    text: str
    link_label: str
    url: str


def incident_card(
    incident: Incident,
    *,
    locale: str,
    web_url: str,
    notice: Notice | None = None,
    zone: tzinfo | None = None,
    unacknowledged_for: int | None = None,
) -> dict[str, Any]:
    """`unacknowledged_for`: minutes, when this card goes to a layer told because nobody
    acknowledged; the card says so first."""
    zone = zone or _ZONES.get(locale, UTC)
    with force_locale(locale):
        now = utcnow()
        card = _card(incident, zone, web_url, notice, now, full=True)
        if wire_bytes(card) > MAX_CARD_BYTES:
            card = _card(incident, zone, web_url, notice, now, full=False)
        if unacknowledged_for is not None:
            why = _(
                "Sent to you because nobody acknowledged for %(n)s minutes.", n=unacknowledged_for
            )
            card["body"]["elements"].insert(0, _text(why))
    return card


def _card(
    incident: Incident,
    zone: tzinfo,
    web_url: str,
    notice: Notice | None,
    now: datetime,
    *,
    full: bool,
) -> dict[str, Any]:
    title = f"#{incident.number} {_clip(incident.title, MAX_TITLE)}"
    elements = [_text("\n".join(_facts(incident, zone, full)))]
    if full and incident.description:
        elements.append(_text(_clip(incident.description, MAX_DESCRIPTION), grey=True))
    newest = _newest_alert(incident)
    latest = _latest_alert(incident, newest)
    if latest is not None:
        elements.append(_text(latest))
    elements.extend(_alert_extras(newest))
    elements.append({"tag": "hr"})
    elements.extend(_buttons(incident, web_url, now))
    if notice is not None:
        elements.extend(_notice(notice))
    return {
        "schema": "2.0",
        "config": {"update_multi": True, "summary": {"content": title}},
        "header": _header(incident, title, now),
        "body": {"elements": elements},
    }


# -- header ----------------------------------------------------------------------------


def _header(incident: Incident, title: str, now: datetime) -> dict[str, Any]:
    state, colour = _state(incident, now)
    return {
        "title": {"tag": "plain_text", "content": title},
        "subtitle": {"tag": "plain_text", "content": _severity_label(incident.severity)},
        "text_tag_list": [
            {"tag": "text_tag", "text": {"tag": "plain_text", "content": state}, "color": colour}
        ],
        # header.template has "grey"; the tag's colour list calls it "neutral" (Lark's
        # card JSON 2.0 title component page).
        "template": "grey" if colour == "neutral" else colour,
    }


def _state(incident: Incident, now: datetime) -> tuple[str, str]:
    """The state in words (the web app's words too: webapp/incidents/states.py), and its colour."""
    state = state_of(incident, now)
    colour = _STATE_COLOURS.get(state) or _TRIGGERED_COLOURS.get(incident.severity, "red")
    return state_words()[state], colour


def _severity_label(severity: Severity) -> str:
    labels = {
        Severity.CRITICAL: _("Critical"),
        Severity.WARNING: _("Warning"),
        Severity.INFO: _("Info"),
    }
    return labels.get(severity, str(severity))


# -- body ------------------------------------------------------------------------------


def _who(incident: Incident, member: Member | None, kind: EventKind) -> str:
    """Who made the change: the person, else the API token it came through (named on the
    timeline event; read only then, so a person's press costs no extra query)."""
    if member is not None:
        return member.name
    last = next((e for e in reversed(incident.events) if e.kind == kind), None)
    token = (last.details or {}).get("token") if last is not None else None
    return _("API token %(name)s", name=token) if token else _("the system")


def _facts(incident: Incident, zone: tzinfo, full: bool) -> list[str]:
    lines = [
        _("Channel: %(name)s", name=incident.channel.name if incident.channel else _("none")),
        _("Assignees: %(names)s", names=", ".join(m.name for m in incident.assignees) or _("none")),
        *_on_call_lines(incident, zone),
        _alert_counts(incident),
    ]
    if full and incident.labels:
        pairs = sorted(incident.labels.items())[:MAX_LABELS]
        lines.append(_("Labels: %(labels)s", labels=", ".join(f"{k}={v}"[:80] for k, v in pairs)))
    lines.append(_("Started: %(when)s", when=_when(incident.created_at, zone)))
    if incident.acknowledged_at is not None:
        who = _who(incident, incident.acknowledged_by, EventKind.ACKNOWLEDGED)
        lines.append(
            _(
                "Acknowledged by %(name)s at %(when)s",
                name=who,
                when=_when(incident.acknowledged_at, zone),
            )
        )
    if incident.status is Status.CLOSED and incident.closed_at is not None:
        who = _who(incident, incident.closed_by, EventKind.RESOLVED)
        lines.append(
            _("Resolved by %(name)s at %(when)s", name=who, when=_when(incident.closed_at, zone))
        )
    if incident.status is not Status.CLOSED and incident.is_snoozed(utcnow()):
        assert incident.snoozed_until is not None
        lines.append(_("Snoozed until %(when)s", when=_when(incident.snoozed_until, zone)))
    held = quick.holding(incident) if incident.status is not Status.CLOSED else None
    if held is not None:
        lines.append(silence_words.held_line(held, _when(held.ends_at, zone)))
    return lines


def _on_call_lines(incident: Incident, zone: tzinfo) -> list[str]:
    """Nobody assigned: who is on call for the incident's channel (its rules' schedules)."""
    if incident.assignees or incident.channel_id is None:
        return []
    found = on_call_for_channel(incident.account_id, incident.channel_id, utcnow())
    return [
        _(
            "On call: %(name)s (%(schedule)s) until %(when)s",
            name=name,
            schedule=schedule,
            when=_when(until, zone),
        )
        for name, schedule, until in found
    ]


def _alert_counts(incident: Incident) -> str:
    """ "7 alerts, 3 still firing" once alerts are grouped; a storm says so."""
    if incident.alert_count < 2:
        return _("Alerts: %(count)s", count=incident.alert_count)
    line = _(
        "%(count)s alerts, %(firing)s still firing",
        count=incident.alert_count,
        firing=incident.alerts_firing,
    )
    if incident.storm_level:
        line += " · " + _("alert storm (over %(threshold)s)", threshold=incident.storm_level)
    return line


@dataclass(frozen=True)
class NewestAlert:
    title: str
    annotations: dict[str, Any] | None
    quiet_reason: str | None
    inhibited_by: int | None
    flapping_until: datetime | None


def _newest_alert(incident: Incident) -> NewestAlert | None:
    """The newest alert's title, annotations and marks, in one statement (none without alerts)."""
    if incident.alert_count < 1:
        return None
    row = db.session.execute(
        select(
            Alert.title,
            Alert.annotations,
            Alert.quiet_reason,
            Alert.inhibited_by,
            Alert.flapping_until,
        )
        .where(Alert.incident_id == incident.id)
        .order_by(Alert.id.desc())
        .limit(1)
    ).one_or_none()
    return NewestAlert(*row) if row is not None else None


def _latest_alert(incident: Incident, newest: NewestAlert | None) -> str | None:
    """The newest alert; with several, says it is the latest of N; and its mark."""
    if newest is None:
        return None
    title = _clip(newest.title, MAX_TITLE)
    if incident.alert_count > 1:
        line = _(
            "Latest alert (latest of %(count)s): %(title)s", count=incident.alert_count, title=title
        )
    else:
        line = _("Alert: %(title)s", title=title)
    mark = alert_mark(newest.quiet_reason, newest.inhibited_by, newest.flapping_until, utcnow())
    return f"{line} ({mark})" if mark else line


def _alert_extras(newest: NewestAlert | None) -> list[dict[str, Any]]:
    """What the monitoring tool sent with the newest alert: values, then its links."""
    annotations = newest.annotations if newest is not None else None
    if not annotations:
        return []
    names = {
        "values": _("Values"),
        "trigger_value": _("Trigger value"),
        "rule_note": _("Rule note"),
        "opdata": _("Operational data"),
    }
    lines = [f"{names[k]}: {_clip(annotations[k], 300)}" for k in names if annotations.get(k)]
    out = [_text("\n".join(lines), grey=True)] if lines else []
    titles = {
        "dashboardURL": _("Dashboard"),
        "panelURL": _("Panel"),
        "silenceURL": _("Silence"),
        "generatorURL": _("Alert rule"),
        "zabbixURL": _("Open in Zabbix"),
    }
    buttons = [
        parts.link_button(titles[k], annotations[k])
        for k in titles
        if str(annotations.get(k, "")).startswith(("https://", "http://"))
    ]
    if buttons:
        out.append(parts.row(buttons))
    return out


def _buttons(incident: Incident, web_url: str, now: datetime) -> list[dict[str, Any]]:
    """The buttons the state offers (the same rule as the web app), then the links."""
    offered = offers.offers(incident, now)
    verbs = offered.verbs
    state = [
        parts.button(
            offers.label(verb),
            "primary_filled" if verb is offered.main else "default",
            button_value(ACTION_OF[verb], incident),
        )
        for verb in verbs
        if verb is not Verb.SNOOZE
    ]
    rows = [parts.row(state)]
    if Verb.SNOOZE in verbs:
        rows.append(parts.row([_label(_("Snooze:")), *_snooze_buttons(incident)]))
    if quick.offered(incident):
        rows.append(parts.row([_label(_("Silence…")), *_silence_buttons(incident)]))
    last = [
        parts.button(_("Refresh"), "default", button_value(CardAction.REFRESH, incident)),
        parts.link_button(_("Open in web app"), web_url),
    ]
    if incident.status is not Status.CLOSED:
        last.insert(
            1, parts.button(_("War room"), "default", button_value(CardAction.WAR_ROOM, incident))
        )
    rows.append(parts.row(last))
    return rows


def _snooze_buttons(incident: Incident) -> list[dict[str, Any]]:
    return [
        parts.button(offers.span(m), "default", button_value(CardAction.SNOOZE, incident, m))
        for m in CARD_SNOOZE_MINUTES
    ]


def _silence_buttons(incident: Incident) -> list[dict[str, Any]]:
    return [
        parts.button(
            silence_words.span(m), "default", button_value(CardAction.SILENCE, incident, m)
        )
        for m in CARD_SILENCE_MINUTES
    ]


def _notice(notice: Notice) -> list[dict[str, Any]]:
    return [
        {"tag": "hr"},
        _text(notice.text),
        parts.row([parts.link_button(notice.link_label, notice.url)]),
    ]


# -- components ------------------------------------------------------------------------


def _text(content: str, grey: bool = False) -> dict[str, Any]:
    text: dict[str, Any] = {"tag": "plain_text", "content": content}
    if grey:
        # Secondary text (the description): grey, and cut at 4 lines on screen.
        text.update(text_color="grey", lines=4)
    return {"tag": "div", "text": text}


def _label(content: str) -> dict[str, Any]:
    return {"tag": "div", "text": {"tag": "plain_text", "content": content}}


def _when(moment: datetime, zone: tzinfo) -> str:
    return i18n.stamp(moment, zone)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
