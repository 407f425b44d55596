"""The admin's silences and maintenance windows page (/admin/silences/).

Lists active, pending and expired silences and the windows with their next occurrences, who
made each and from where, and the account's audit trail of them; makes, edits and ends
silences, books and cancels windows. Every change goes through webapp/silences/ with the
admin as the actor and `web` as the source; a refusal answers 422 with the form as typed.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime, get_timezone
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from webapp.extensions import db
from webapp.incidents.service import Actor
from webapp.models import Channel, MaintenanceWindow, Member, Silence, Source, utcnow
from webapp.silences import audit, service, windows
from webapp.silences.matchers import Matcher, MatcherInvalid, load, parse
from webapp.views.access import signed_in_admin

bp = Blueprint("silences", __name__, url_prefix="/admin/silences")
bp.before_request(signed_in_admin)

EXPIRED_SHOWN = 20
HOURS = (1, 2, 4, 8, 24, 72, 168)  # the new silence form's lengths


@bp.context_processor
def _admin_shell() -> dict[str, Any]:
    return {"admin_me": current_user, "dispatch_url": None}


def _admin() -> Member:
    admin: Member = current_user._get_current_object()
    return admin


def _actor() -> Actor:
    return Actor(_admin(), Source.WEB)


def _page(status: int = 200, **context: Any) -> ResponseReturnValue:
    account_id, now = _admin().account_id, utcnow()
    found = list(
        db.session.scalars(
            select(Silence)
            .where(Silence.account_id == account_id, Silence.window_id.is_(None))
            .order_by(Silence.ends_at.desc())
        )
    )
    by_state: dict[str, list[Silence]] = {"active": [], "pending": [], "expired": []}
    for silence in found:
        by_state[silence.state(now)].append(silence)
    booked = list(
        db.session.scalars(
            select(MaintenanceWindow)
            .where(MaintenanceWindow.account_id == account_id)
            .order_by(MaintenanceWindow.ended_at.is_not(None), MaintenanceWindow.id.desc())
        )
    )
    context.setdefault("form", {})
    context.setdefault("wform", {"timezone": str(get_timezone()), "page_at_end": "on"})
    return (
        render_template(
            "admin/silences.html",
            active=by_state["active"],
            pending=sorted(by_state["pending"], key=lambda s: s.starts_at),
            expired=by_state["expired"][:EXPIRED_SHOWN],
            windows=[(w, windows.upcoming(w, now)) for w in booked],
            channels=_channels(),
            trail=audit.newest(account_id),
            hours=HOURS,
            now=now,
            when=lambda moment: format_datetime(moment, "yyyy-MM-dd HH:mm"),
            shown=lambda s: [str(m) for m in load(s.matchers)],
            local_input=_local_input,
            **context,
        ),
        status,
    )


def _channels() -> list[Channel]:
    return list(
        db.session.scalars(
            select(Channel).where(Channel.account_id == _admin().account_id).order_by(Channel.name)
        )
    )


@bp.get("/")
def page() -> ResponseReturnValue:
    return _page()


# -- silences ---------------------------------------------------------------------------


@bp.post("/")
def create() -> ResponseReturnValue:
    form = {k: request.form.get(k, "") for k in ("matchers", "hours", "starts", "comment")}
    errors: dict[str, str] = {}
    wanted = _matchers(form["matchers"], errors, required=True)
    hours = int(form["hours"]) if form["hours"].isdigit() else 0
    if hours not in HOURS:
        errors["hours"] = _("Choose how long it lasts.")
    starts = _local(form["starts"], errors, "starts") or utcnow()
    if not form["comment"].strip():
        errors["comment"] = _("Say why, e.g. the change ticket: others will read it.")
    if errors:
        return _page(422, form=form, errors=errors)
    data = service.SilenceInput(
        wanted, starts, starts + timedelta(hours=hours), _admin().name, form["comment"].strip()
    )
    try:
        silence = service.save(_admin().account_id, data, _actor())
    except service.SilenceRefused as refused:
        db.session.rollback()
        return _page(422, form=form, errors={"matchers": str(refused)})
    flash(_("Silence made: %(matchers)s.", matchers=", ".join(str(m) for m in wanted)))
    return redirect(url_for("silences.page", _anchor=f"silence-{silence.id}"), 303)


@bp.post("/<silence_id>/edit")
def edit(silence_id: str) -> ResponseReturnValue:
    silence = _silence(silence_id)
    errors: dict[str, str] = {}
    ends = _local(request.form.get("ends", ""), errors, "ends")
    comment = request.form.get("comment", silence.comment).strip()
    if ends is None and not errors:
        errors["ends"] = _("Choose when it ends.")
    if errors or ends is None:
        return _page(422, edit_errors={silence.id: errors.get("ends", "")})
    data = service.SilenceInput(
        load(silence.matchers), silence.starts_at, ends, silence.created_by, comment
    )
    try:
        saved = service.save(silence.account_id, data, _actor(), silence.id)
    except service.SilenceRefused as refused:
        db.session.rollback()
        return _page(422, edit_errors={silence.id: str(refused)})
    flash(_("Silence changed: it ends %(when)s.", when=format_datetime(saved.ends_at, "short")))
    return redirect(url_for("silences.page", _anchor=f"silence-{saved.id}"), 303)


@bp.post("/<silence_id>/expire")
def expire(silence_id: str) -> ResponseReturnValue:
    silence = _silence(silence_id)
    service.expire(silence.account_id, silence.id, _actor())
    flash(_("Silence ended: incidents it held that still wait are paged now."))
    return redirect(url_for("silences.page"), 303)


def _silence(silence_id: str) -> Silence:
    silence = service.get(_admin().account_id, silence_id)
    if silence is None or silence.window_id is not None:
        abort(404)
    return silence


# -- windows ----------------------------------------------------------------------------


@bp.post("/windows")
def book() -> ResponseReturnValue:
    names = ("name", "channel_id", "matchers", "timezone", "date", "time", "minutes")
    wform = {k: request.form.get(k, "") for k in (*names, "weekly", "page_at_end")}
    errors: dict[str, str] = {}
    wanted = _matchers(wform["matchers"], errors, required=False)
    day = _parsed(date.fromisoformat, wform["date"], errors, "start_date")
    at = _parsed(time.fromisoformat, wform["time"], errors, "start_date")
    minutes = int(wform["minutes"]) if wform["minutes"].isdigit() else 0
    if errors or day is None or at is None:
        return _page(422, wform=wform, werrors=errors)
    data = windows.WindowInput(
        name=wform["name"],
        channel_id=int(wform["channel_id"]) if wform["channel_id"].isdigit() else None,
        matchers=wanted,
        timezone=wform["timezone"].strip(),
        start_date=day,
        start_time=at,
        duration_minutes=minutes,
        weekly=bool(wform["weekly"]),
        page_at_end=bool(wform["page_at_end"]),
    )
    try:
        window = windows.save(_admin().account_id, data, _actor())
    except windows.WindowInvalid as invalid:
        db.session.rollback()
        return _page(422, wform=wform, werrors=invalid.errors)
    flash(_("Window “%(name)s” booked.", name=window.name))
    return redirect(url_for("silences.page", _anchor=f"window-{window.id}"), 303)


@bp.post("/windows/<int:window_id>/cancel")
def cancel(window_id: int) -> ResponseReturnValue:
    window = db.session.get(MaintenanceWindow, window_id)
    if window is None or window.account_id != _admin().account_id:
        abort(404)
    if window.ended_at is None:
        windows.cancel(window, _actor())
    flash(_("Window “%(name)s” cancelled: no more occurrences.", name=window.name))
    return redirect(url_for("silences.page"), 303)


# -- reading the forms ------------------------------------------------------------------


def _matchers(text: str, errors: dict[str, str], required: bool) -> list[Matcher]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if required and not lines:
        errors["matchers"] = _('Write at least one matcher, e.g. alertname="DiskFull".')
    try:
        return [parse(line) for line in lines]
    except MatcherInvalid as exc:
        errors["matchers"] = str(exc)
        return []


def _local(typed: str, errors: dict[str, str], field: str) -> datetime | None:
    """A datetime-local input read in the admin's time zone."""
    if not typed.strip():
        return None
    try:
        naive = datetime.fromisoformat(typed.strip())
    except ValueError:
        errors[field] = _("Pick a date and a time.")
        return None
    return naive.replace(tzinfo=get_timezone())


def _local_input(moment: datetime) -> str:
    return format_datetime(moment, "yyyy-MM-dd'T'HH:mm")


def _parsed(read: Any, typed: str, errors: dict[str, str], field: str) -> Any:
    try:
        return read(typed.strip())
    except ValueError:
        errors[field] = _("Pick a date and a time.")
        return None
