"""Schedules over HTTP: the schedule pages, admins' forms, and the calendar feeds."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from webapp.extensions import db, login_manager
from webapp.models import (
    Member,
    Schedule,
    utcnow,
)
from webapp.schedules import cover, feeds, problems, service, views_model
from webapp.schedules.service import LayerInput, ScheduleError, ScheduleInUse
from webapp.views import schedule_words
from webapp.views.access import account_row, require_admin

bp = Blueprint("schedules", __name__)
WEEKDAYS = range(7)


@bp.get("/calendar/<token>.ics")
def calendar(token: str) -> Response:
    feed = feeds.feed_of(token)
    if feed is None:
        abort(404)
    return Response(feeds.render(feed), mimetype="text/calendar")


def _signed_in() -> None:
    if not current_user.is_authenticated:
        abort(login_manager.unauthorized())


def _admin() -> None:
    require_admin()


def _schedule(schedule_id: int) -> Schedule:
    return account_row(Schedule, schedule_id)


def _members() -> list[Member]:
    return list(
        db.session.scalars(
            select(Member).where(Member.account_id == current_user.account_id).order_by(Member.id)
        )
    )


def _context(**extra: Any) -> dict[str, Any]:
    return {"admin_me": current_user, "dispatch_url": url_for("dispatch.channels"), **extra}


@bp.get("/schedules")
def index() -> ResponseReturnValue:
    _signed_in()
    items = db.session.scalars(
        select(Schedule)
        .where(Schedule.account_id == current_user.account_id)
        .order_by(Schedule.name)
    )
    return render_template(
        "schedules/index.html", **_context(schedules=list(items), typed={}, error=None)
    )


@bp.post("/schedules")
def create() -> ResponseReturnValue:
    _admin()
    typed = {"name": request.form.get("name", ""), "timezone": request.form.get("timezone", "")}
    try:
        schedule = service.create_schedule(
            current_user.account_id, typed["name"], typed["timezone"]
        )
    except ScheduleError as error:
        db.session.rollback()
        items = db.session.scalars(
            select(Schedule).where(Schedule.account_id == current_user.account_id)
        )
        return render_template(
            "schedules/index.html", **_context(schedules=list(items), typed=typed, error=str(error))
        ), 422
    return redirect(url_for("schedules.page", schedule_id=schedule.id), 303)


def _render_page(schedule: Schedule, status: int = 200, **extra: Any) -> ResponseReturnValue:
    context = _context(
        schedule=schedule,
        timeline=views_model.timeline(schedule, current_user, utcnow()),
        members=_members(),
        weekdays=WEEKDAYS,
        layer_typed=MultiDict(),
        override_typed=MultiDict(),
        layer_error=None,
        override_error=None,
        cover_typed=MultiDict(),
        reminder_typed=MultiDict(),
        editing=None,
        page_error=None,
        edit_typed=MultiDict(),
        edit_error=None,
        overrides=[o for o in schedule.overrides if o.ends_at > utcnow()],
        reminder_error=None,
        cover_error=None,
        covers=cover.open_requests(schedule, utcnow()),
        feed_url=None,
    )
    context.update(problems.notes(schedule, current_user, context["covers"], utcnow()))
    context.update(extra)
    return render_template("schedules/page.html", **context), status


@bp.get("/schedules/<int:schedule_id>")
def page(schedule_id: int) -> ResponseReturnValue:
    _signed_in()
    return _render_page(_schedule(schedule_id))


@bp.get("/schedules/<int:schedule_id>/delete")
def delete_confirm(schedule_id: int) -> ResponseReturnValue:
    _admin()
    schedule = _schedule(schedule_id)
    using = service.rules_paging_through(schedule)
    return render_template("schedules/delete.html", **_context(schedule=schedule, using=using))


@bp.post("/schedules/<int:schedule_id>/delete")
def delete(schedule_id: int) -> ResponseReturnValue:
    _admin()
    schedule = _schedule(schedule_id)
    if request.form.get("confirm") != "delete":
        return redirect(url_for("schedules.delete_confirm", schedule_id=schedule.id), 303)
    name = schedule.name
    try:
        service.delete_schedule(schedule)
    except ScheduleInUse as error:
        context = _context(schedule=schedule, using=error.rules, error=str(error))
        return render_template("schedules/delete.html", **context), 409
    flash(_("Schedule “%(name)s” deleted.", name=name), "success")
    return redirect(url_for("schedules.index"), 303)


def _digits(text: str | None) -> int:
    return int(text) if text and text.isdigit() else 0


def _layer_input(f: MultiDict[str, str]) -> LayerInput:
    return LayerInput(
        name=f.get("name", ""),
        member_ids=[int(i) for i in f.getlist("member_ids") if i.isdigit()],
        kind=f.get("kind", "weekly"),
        hours=_digits(f.get("hours")),
        weekday=_digits(f.get("weekday")),
        handoff=f.get("handoff", ""),
        timezone=f.get("timezone", ""),
        start=f.get("start", ""),
        restrict_weekdays=[int(i) for i in f.getlist("restrict_weekdays") if i.isdigit()],
        restrict_from=f.get("restrict_from", ""),
        restrict_to=f.get("restrict_to", ""),
    )


@bp.post("/schedules/<int:schedule_id>/layers")
def add_layer(schedule_id: int) -> ResponseReturnValue:
    _admin()
    schedule = _schedule(schedule_id)
    try:
        service.add_layer(schedule, _layer_input(request.form))
    except ScheduleError as error:
        db.session.rollback()
        return _render_page(schedule, 422, layer_typed=request.form, layer_error=str(error))
    return redirect(url_for("schedules.page", schedule_id=schedule.id), 303)


def _edit_failed(schedule: Schedule, what: str, item_id: int, error: ScheduleError) -> Any:
    """The page again, that item's form open with what was typed and the reason."""
    db.session.rollback()
    find = service.layer_of if what == "layer" else service.override_of
    if find(schedule, item_id) is None:  # deleted meanwhile: say so at the top
        return _render_page(schedule, 422, page_error=str(error))
    return _render_page(
        schedule, 422, editing=(what, item_id), edit_typed=request.form, edit_error=str(error)
    )


@bp.post("/schedules/<int:schedule_id>/layers/<int:layer_id>")
def edit_layer(schedule_id: int, layer_id: int) -> ResponseReturnValue:
    _admin()
    schedule = _schedule(schedule_id)
    try:
        service.update_layer(schedule, layer_id, _layer_input(request.form))
    except ScheduleError as error:
        return _edit_failed(schedule, "layer", layer_id, error)
    flash(_("The layer was saved."))
    return redirect(url_for("schedules.page", schedule_id=schedule.id), 303)


@bp.post("/schedules/<int:schedule_id>/layers/<int:layer_id>/delete")
def delete_layer(schedule_id: int, layer_id: int) -> ResponseReturnValue:
    _admin()
    schedule = _schedule(schedule_id)
    try:
        service.delete_layer(schedule, layer_id)
    except ScheduleError as error:
        return _edit_failed(schedule, "layer", layer_id, error)
    flash(_("The layer was deleted."))
    return redirect(url_for("schedules.page", schedule_id=schedule.id), 303)


@bp.post("/schedules/<int:schedule_id>/overrides/<int:override_id>")
def edit_override(schedule_id: int, override_id: int) -> ResponseReturnValue:
    _admin()
    schedule = _schedule(schedule_id)
    f = request.form
    try:
        service.update_override(
            schedule, override_id, _digits(f.get("member_id")), f.get("start", ""), f.get("end", "")
        )
    except ScheduleError as error:
        return _edit_failed(schedule, "override", override_id, error)
    flash(_("The override was saved."))
    return redirect(url_for("schedules.page", schedule_id=schedule.id), 303)


@bp.post("/schedules/<int:schedule_id>/overrides/<int:override_id>/delete")
def delete_override(schedule_id: int, override_id: int) -> ResponseReturnValue:
    _admin()
    schedule = _schedule(schedule_id)
    try:
        service.delete_override(schedule, override_id)
    except ScheduleError as error:
        return _edit_failed(schedule, "override", override_id, error)
    flash(_("The override was deleted."))
    return redirect(url_for("schedules.page", schedule_id=schedule.id), 303)


@bp.post("/schedules/<int:schedule_id>/overrides")
def add_override(schedule_id: int) -> ResponseReturnValue:
    _admin()
    schedule = _schedule(schedule_id)
    f = request.form
    try:
        service.add_override(
            schedule, _digits(f.get("member_id")), f.get("start", ""), f.get("end", "")
        )
    except ScheduleError as error:
        db.session.rollback()
        return _render_page(schedule, 422, override_typed=f, override_error=str(error))
    return redirect(url_for("schedules.page", schedule_id=schedule.id), 303)


@bp.post("/schedules/<int:schedule_id>/cover")
def ask_cover(schedule_id: int) -> ResponseReturnValue:
    """A member asks the others in the schedule to cover a range; they get a Lark card."""
    _signed_in()
    schedule = _schedule(schedule_id)
    f = request.form
    try:
        asked = cover.ask(schedule, current_user, f.get("start", ""), f.get("end", ""))
    except ScheduleError as error:
        db.session.rollback()
        return _render_page(schedule, 422, cover_typed=f, cover_error=str(error))
    flash(_("Asked in Lark: %(names)s.", names=", ".join(asked.asked)))
    if asked.unreachable:
        flash(
            _(
                "Not asked, not linked to Lark yet: %(names)s.",
                names=", ".join(asked.unreachable),
            )
        )
    return redirect(url_for("schedules.page", schedule_id=schedule.id), 303)


@bp.post("/schedules/<int:schedule_id>/cover/<int:request_id>/withdraw")
def withdraw_cover(schedule_id: int, request_id: int) -> ResponseReturnValue:
    """The asker (or an admin) withdraws a cover request nobody has taken yet."""
    _signed_in()
    schedule = _schedule(schedule_id)
    asked = cover.request_of(schedule, request_id)
    if asked is None:
        abort(404)
    if asked.member_id != current_user.id and not current_user.is_admin:
        abort(403)
    try:
        cover.withdraw(asked)
    except ScheduleError as error:
        return _render_page(schedule, 409, cover_error=str(error))
    flash(_("The request for cover was withdrawn; its Lark cards now say so."))
    return redirect(url_for("schedules.page", schedule_id=schedule.id), 303)


@bp.post("/schedules/<int:schedule_id>/reminders")
def reminders(schedule_id: int) -> ResponseReturnValue:
    _admin()
    schedule = _schedule(schedule_id)
    f = request.form
    try:
        service.set_reminders(schedule, f.get("minutes", ""), f.get("chat_id", ""))
    except ScheduleError as error:
        db.session.rollback()
        return _render_page(schedule, 422, reminder_typed=f, reminder_error=str(error))
    flash(_("Shift reminders saved."))
    return redirect(url_for("schedules.page", schedule_id=schedule.id), 303)


@bp.post("/schedules/<int:schedule_id>/feed")
def feed(schedule_id: int) -> ResponseReturnValue:
    """Issue (or revoke) a calendar URL: the member's own, or the whole schedule's for admins."""
    _signed_in()
    schedule = _schedule(schedule_id)
    whole = request.form.get("scope") == "schedule"
    if whole and not current_user.is_admin:
        abort(403)
    member = None if whole else current_user
    if request.form.get("action") == "revoke":
        feeds.revoke(schedule, member)
        flash(_("The calendar URL was revoked; calendars subscribed to it stop updating."))
        return redirect(url_for("schedules.page", schedule_id=schedule.id), 303)
    token = feeds.issue(schedule, member)
    return _render_page(
        schedule, feed_url=url_for("schedules.calendar", token=token, _external=True)
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    schedule_words.init_app(app)
