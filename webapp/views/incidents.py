"""The member's incidents inside the Lark web app: list, detail, and actions as htmx partials.

Every region is one partial template with a stable root id; a page includes exactly what
its partial endpoint returns. htmx requests get the fragment, others the page (both send
`Vary: HX-Request`), and every action also works as a plain form post (303 back).
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime, format_timedelta, get_timezone, ngettext
from flask_babel import gettext as _
from sqlalchemy import select

from webapp.delivery import mail
from webapp.delivery import outcomes as outbox_outcomes
from webapp.dispatch import war_rooms
from webapp.extensions import db
from webapp.i18n import ago, current_zone
from webapp.identity.login import safe_next
from webapp.incidents import alert_list, events, offers, queries
from webapp.incidents import lookup as incident_lookup
from webapp.incidents import service as incidents
from webapp.incidents.offers import Verb
from webapp.incidents.rows import ListRow
from webapp.incidents.service import (
    SNOOZE_MINUTES,
    Actor,
    IncidentError,
    NoSeat,
    NotAllowed,
)
from webapp.incidents.states import state_of, state_words
from webapp.lark import errors as lark_errors
from webapp.models import Incident, Member, Source, utcnow
from webapp.paging import words as paging_words
from webapp.silences import quick
from webapp.silences import words as silence_words
from webapp.views import list_etag, list_rows
from webapp.views.lark_context import lark_member_required

bp = Blueprint("incidents_web", __name__, url_prefix="/lark/<key>/incidents")

# The state verbs (webapp/incidents/offers.py), then the two that only the web app has.
VERBS = (*(verb.value for verb in Verb), "reassign", "comment", "silence")
BULK_VERBS = tuple(verb.value for verb in offers.BULK)


def init_app(app: Any) -> None:
    app.config.setdefault("LIST_REFRESH_SECONDS", 15)
    app.register_blueprint(bp)
    # Globals rather than context, so the macros import without context and Jinja caches them.
    globals_ = app.jinja_env.globals
    globals_.setdefault("format_datetime", format_datetime)
    globals_.setdefault("format_timedelta", format_timedelta)
    globals_["inc_labels"] = labels
    globals_["inc_offers"] = row_offers
    globals_["inc_ago"] = ago
    globals_["inc_row"] = list_rows.row_html
    globals_["inc_bulk_offers"] = lambda: offers.bulk_offers(_member())
    globals_["inc_event_label"] = events.event_label
    globals_["inc_state"] = state_of
    globals_["inc_alert_mark"] = alert_list.alert_mark
    globals_["inc_moment"] = alert_list.moment
    globals_["inc_lark_fix"] = lark_errors.fix
    globals_["inc_waiting_words"] = outbox_outcomes.waiting_words
    globals_["inc_fallback_words"] = mail.reason_words
    globals_["silence_timeline"] = silence_words.timeline
    globals_["silence_line"] = silence_words.held_line
    globals_["buzz_step_words"] = paging_words.step_words
    globals_["buzz_line"] = paging_words.line


@bp.context_processor
def _template_helpers() -> dict[str, Any]:
    return {"now": utcnow(), "refresh_seconds": current_app.config["LIST_REFRESH_SECONDS"]}


def labels() -> dict[str, Any]:
    """Words every row repeats, translated once per request (gettext per row adds up at 50)."""
    cached: dict[str, Any] | None = g.get("incident_labels")
    if cached is None:
        cached = g.incident_labels = _labels()
    return cached


def row_offers(incident: offers.Stateful) -> offers.Offers:
    """What the signed-in member may do on an incident the page already found visible."""
    return offers.visible_offers(incident, utcnow(), _member())


def _labels() -> dict[str, Any]:
    return {
        **{str(verb): text for verb, text in offers.labels().items()},
        "Critical": _("Critical"),
        "Warning": _("Warning"),
        "Info": _("Info"),
        **{str(state): word for state, word in state_words().items()},
        "until": _("until"),
        "snooze_for": _("Snooze for"),
        "durations": [(m, offers.span(m)) for m in SNOOZE_MINUTES],
        "select": _("Select"),
        "zone": current_zone(),  # "UTC+8", and the zone itself for strftime in rows
        "tz": get_timezone() or UTC,
        "unassigned": _("Unassigned"),
        "more": _("More"),
        "more_on_detail": _("Snooze or reassign on the detail page"),
    }


# -- page or fragment ------------------------------------------------------------------


def wants_fragment() -> bool:
    """htmx asked for a region; a history restore after a cache miss needs the whole page."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )


def _render(
    template: str, status: int = 200, toast: tuple[str, str] | None = None, **context: Any
) -> ResponseReturnValue:
    headers = {"Vary": "HX-Request"}
    if toast:
        inline = context.get("refusal") is not None
        headers["HX-Trigger"] = _toast_header(toast, template == "incidents/_row.html", inline)
    return render_template(template, **context), status, headers


def _member() -> Member:
    member: Member = g.lark.member
    return member


# -- list ------------------------------------------------------------------------------


def list_context(
    filters: queries.Filters,
    after: queries.Cursor | None,
    limit: int,
    counts: queries.Counts | None = None,
) -> dict[str, Any]:
    """Rows and counts; "load more" answers rows only, so it skips the counts statement."""
    member = _member()
    page = queries.page(member, filters, after=after, limit=limit)
    if counts is None and (after is None or not wants_fragment()):
        counts = queries.counts(member, filters)
    return {
        "filters": filters,
        "page": page,
        "counts": counts,
        "after": after,
        "shown": limit if page.next_cursor else len(page.rows),
    }


def _limit() -> int:
    """A refresh re-renders as many rows as the member has loaded (load more), within bounds."""
    raw = request.args.get("shown", "")
    shown = int(raw) if raw.isdigit() else queries.PAGE_SIZE
    return max(queries.PAGE_SIZE, min(shown, queries.MAX_ROWS))


@bp.get("", endpoint="list")
@lark_member_required
def list_page(key: str) -> ResponseReturnValue:
    filters = queries.Filters.from_args(request.args)
    after = queries.Cursor.decode(request.args.get("after"))
    if after is not None:
        context = list_context(filters, after, queries.PAGE_SIZE)
        previous = request.args.get("shown", "")
        context["shown"] = (int(previous) if previous.isdigit() else 0) + len(context["page"].rows)
        template = "incidents/_rows.html" if wants_fragment() else "incidents/list.html"
        return _render(template, **context)
    limit = _limit()
    if not wants_fragment():
        return _render("incidents/list.html", **list_context(filters, None, limit))
    look = list_etag.list_tag(_member(), filters, limit, utcnow())
    if list_etag.not_modified(look.tag):
        return list_etag.answer_304(look.tag, look.last_modified)  # nothing rendered
    context = list_context(filters, None, limit, look.counts)
    response = make_response(_render("incidents/_list.html", **context))
    list_etag.mark(response, look.tag, look.last_modified)
    return response


# -- detail ----------------------------------------------------------------------------


def _detail_or_404(number: int) -> Incident:
    incident = incident_lookup.detail(_member(), number)
    if incident is None:
        abort(404)
    return incident


def detail_context(incident: Incident, comment_text: str = "") -> dict[str, Any]:
    return {
        "incident": incident,
        "members": incident_lookup.assignable(_member()),
        "comment_text": comment_text,
        "room": war_rooms.room_of(incident),
        "told": outbox_outcomes.who_was_told(incident),
        "silence": quick.holding(incident) if quick.offered(incident) else None,
        "silence_spans": [(m, silence_words.span(m)) for m in quick.QUICK_MINUTES],
        "alerts": alert_list.page(incident, request.args.get("alerts", "all")),
        "key": (request.view_args or {}).get("key"),
    }


@bp.get("/<int:number>", endpoint="detail")
@lark_member_required
def detail_page(key: str, number: int) -> ResponseReturnValue:
    incident = _detail_or_404(number)
    template = "incidents/_detail.html" if wants_fragment() else "incidents/detail.html"
    return _render(template, **detail_context(incident))


@bp.get("/<int:number>/alerts", endpoint="alerts")
@lark_member_required
def alerts_region(key: str, number: int) -> ResponseReturnValue:
    """The alert list in one state (htmx); a plain visit opens the page filtered the same way."""
    state = request.args.get("state", "all")
    incident = _detail_or_404(number)  # one the member may not see is a 404 either way
    if not wants_fragment():
        return redirect(url_for(".detail", number=number, alerts=state), 303)
    return _render(
        "incidents/_alerts.html", incident=incident, alerts=alert_list.page(incident, state)
    )


@bp.get("/<int:number>/menu", endpoint="menu")
@lark_member_required
def row_menu(key: str, number: int) -> ResponseReturnValue:
    """The row's "More" panel (snooze, reassign), loaded when it first opens."""
    incident = incident_lookup.row(_member(), number)
    if incident is None:
        abort(404)
    if not wants_fragment():
        return redirect(url_for(".detail", number=number), 303)
    return _render(
        "incidents/_menu.html",
        incident=incident,
        members=incident_lookup.assignable(_member()),
        next_url=url_for(".detail", number=number),
    )


# -- actions ---------------------------------------------------------------------------


def _expected_version() -> int | None:
    raw = request.form.get("version", "")
    return int(raw) if raw.isdigit() else None


def _chosen_members() -> list[Member]:
    ids = [int(v) for v in request.form.getlist("member_id") if v.isdigit()]
    if not ids:
        return []
    stmt = select(Member).where(Member.id.in_(ids), Member.account_id == _member().account_id)
    return list(db.session.execute(stmt).scalars())


def _minutes() -> int:
    raw = request.form.get("minutes", "")
    return int(raw) if raw.isdigit() else 0


def perform(verb: str, incident: Incident, actor: Actor, version: int | None) -> str:
    """Call the one service verb the form asked for; returns the success message."""
    if verb == "reassign":
        incidents.reassign(incident, actor, _chosen_members(), version)
        return _("Incident #%(n)s reassigned.", n=incident.number)
    if verb == "comment":
        incidents.comment(incident, actor, request.form.get("text", ""))
        return _("Comment added to #%(n)s.", n=incident.number)
    if verb == "silence":
        quick.silence_incident(incident, actor, _minutes())
        return silence_words.done(incident)
    state_verb, minutes = Verb(verb), _minutes()
    offers.perform(state_verb, incident, actor, version, minutes)
    return offers.done_text(state_verb, incident.number, minutes)


def refusal_status(error: IncidentError) -> int:
    """403 when this member may not act (no access, no seat); 409 when the incident moved on
    (StaleVersion) or its state does not allow it (InvalidTransition)."""
    return 403 if isinstance(error, NotAllowed | NoSeat) else 409


@bp.post("/<int:number>/<verb>", endpoint="act")
@lark_member_required
def act(key: str, number: int, verb: str) -> ResponseReturnValue:
    if verb not in VERBS:
        abort(404)
    member = _member()
    incident = incident_lookup.row(member, number)
    if incident is None:
        abort(404)
    status, comment_text = 200, ""
    try:
        toast = (perform(verb, incident, Actor(member, Source.WEB), _expected_version()), "success")
    except IncidentError as error:
        status = refusal_status(error)
        toast = (str(error), "error" if status == 403 else "warning")
        comment_text = request.form.get("text", "") if verb == "comment" else ""
    if not wants_fragment():
        flash(toast[0], "error" if status != 200 else "success")
        fallback = url_for(".detail", number=number)
        return redirect(safe_next(request.form.get("next"), fallback), 303)
    return _region_after_action(number, status, toast, comment_text)


def _region_after_action(
    number: int, status: int, toast: tuple[str, str], comment_text: str
) -> ResponseReturnValue:
    """The changed region, re-read from the database: the row or the whole detail."""
    db.session.expire_all()
    if request.form.get("region") == "row":
        incident = incident_lookup.row(_member(), number)
        if incident is None:  # no longer visible to the member: the row goes away
            return "", status, {"Vary": "HX-Request", "HX-Trigger": _toast_header(toast, True)}
        # A refusal is written inside the row it concerns (a floating toast would cover it).
        return _render(
            "incidents/_row.html",
            status,
            toast,
            incident=ListRow.of(incident),
            refusal=toast if status != 200 else None,
            next_url=safe_next(request.form.get("next"), url_for(".list")),
        )
    incident = _detail_or_404(number)
    return _render(
        "incidents/_detail.html", status, toast, **detail_context(incident, comment_text)
    )


def _toast_header(toast: tuple[str, str], list_changed: bool = False, inline: bool = False) -> str:
    """The toast, and for a row action `incidents-changed`, which makes the list refresh
    at once so its counts follow. `inline`: the swapped region shows the message itself,
    so static/app.js draws no floating toast. json.dumps escapes non-ASCII (latin-1 header)."""
    message: dict[str, Any] = {"message": toast[0], "kind": toast[1]}
    if inline:
        message["inline"] = True
    events: dict[str, Any] = {"toast": message}
    if list_changed:
        events["incidents-changed"] = True
    return json.dumps(events)


# -- bulk ------------------------------------------------------------------------------


def _selected() -> dict[int, int | None]:
    """Selected rows as number -> version seen ("12:3" from each checkbox)."""
    chosen: dict[int, int | None] = {}
    for value in request.form.getlist("ids"):
        number, _sep, version = value.partition(":")
        if number.isdigit():
            chosen[int(number)] = int(version) if version.isdigit() else None
    return chosen


def bulk_message(verb: str, done: int, refused: list[str]) -> tuple[str, str]:
    if not done and not refused:
        return _("Select one or more incidents first."), "info"
    if verb == "acknowledge":
        text = ngettext("%(num)d incident acknowledged.", "%(num)d incidents acknowledged.", done)
    else:
        text = ngettext("%(num)d incident resolved.", "%(num)d incidents resolved.", done)
    if not refused:
        return text, "success"
    why = " ".join(refused[:3])
    return _("%(done)s Not changed: %(why)s", done=text, why=why), "warning"


@bp.post("/bulk", endpoint="bulk")
@lark_member_required
def bulk(key: str) -> ResponseReturnValue:
    verb = request.form.get("action", "")
    if verb not in BULK_VERBS:
        abort(400)
    member = _member()
    chosen = _selected()
    actor = Actor(member, Source.WEB)
    done, refused = 0, []
    for incident in incident_lookup.visible_numbers(member, list(chosen)):
        try:
            perform(verb, incident, actor, chosen[incident.number])
            done += 1
        except IncidentError as error:
            refused.append(f"#{incident.number}: {error}")
    toast = bulk_message(verb, done, refused)
    filters = queries.Filters.from_args(request.args)
    if not wants_fragment():
        flash(toast[0], "success" if toast[1] == "success" else "error")
        return redirect(url_for(".list", **filters.params()), 303)
    db.session.expire_all()
    return _render("incidents/_list.html", 200, toast, **list_context(filters, None, _limit()))
