"""Dispatch policies per channel (/admin/channels/...).

Admins only (403 for members); another account's channel or rule answers 404.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
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

from webapp.dispatch import rules as dispatch_rules
from webapp.dispatch.rules import LayerInput, RuleInput, RuleInvalid
from webapp.extensions import db
from webapp.models import (
    Channel,
    ChatStatus,
    DispatchRule,
    LarkIntegration,
    Member,
    Schedule,
    Severity,
    Team,
    utcnow,
)
from webapp.oncall import targets as schedule_targets
from webapp.views.access import account_row, signed_in_admin

bp = Blueprint("dispatch", __name__, url_prefix="/admin/channels")


bp.before_request(signed_in_admin)


@bp.context_processor
def _admin_nav() -> dict[str, Any]:
    return {"admin_me": current_user, "dispatch_url": url_for("dispatch.channels")}


def _channel(channel_id: int) -> Channel:
    return account_row(Channel, channel_id)


def _rule(channel: Channel, rule_id: int) -> DispatchRule:
    rule = db.session.get(DispatchRule, rule_id)
    if rule is None or rule.channel_id != channel.id:
        abort(404)
    return rule


def _integrations() -> list[LarkIntegration]:
    return list(
        db.session.scalars(
            select(LarkIntegration)
            .where(LarkIntegration.account_id == current_user.account_id)
            .order_by(LarkIntegration.id)
        )
    )


@bp.get("")
def channels() -> ResponseReturnValue:
    items = db.session.scalars(
        select(Channel).where(Channel.account_id == current_user.account_id).order_by(Channel.name)
    )
    counts = {
        channel_id: count
        for channel_id, count in db.session.execute(
            select(DispatchRule.channel_id, db.func.count()).group_by(DispatchRule.channel_id)
        )
    }
    return render_template("dispatch/channels.html", channels=list(items), counts=counts)


@bp.get("/<int:channel_id>/dispatch")
def policy(channel_id: int) -> ResponseReturnValue:
    channel = _channel(channel_id)
    rules = db.session.scalars(
        select(DispatchRule)
        .where(DispatchRule.channel_id == channel.id)
        .order_by(DispatchRule.position, DispatchRule.id)
    )
    integrations = _integrations()
    chat_lists = {i.id: dispatch_rules.bot_chats(i) for i in integrations if i.enabled}
    listed = list(rules)
    gone = dispatch_rules.gone_targets(listed)
    gone_schedules = dispatch_rules.gone_schedules(current_user.account_id, listed)
    return render_template(
        "dispatch/policy.html",
        channel=channel,
        rules=listed,
        integrations=integrations,
        chat_lists=chat_lists,
        gone=gone,
        gone_schedules=gone_schedules,
        describe=_describer({g.chat_id: g for g in gone}),
    )


@bp.post("/<int:channel_id>/dispatch/refresh-chats")
def refresh_chats(channel_id: int) -> ResponseReturnValue:
    channel = _channel(channel_id)
    for integration in _integrations():
        if integration.enabled:
            dispatch_rules.bot_chats(integration, refresh=True)
    back = request.form.get("back") or url_for("dispatch.policy", channel_id=channel.id)
    if not back.startswith(f"/admin/channels/{channel.id}/"):
        back = url_for("dispatch.policy", channel_id=channel.id)
    return redirect(back, 303)


@bp.get("/<int:channel_id>/dispatch/chats")
def layer_chats(channel_id: int) -> ResponseReturnValue:
    """One layer's chat choices, polled by the rule form (204 while the list is unchanged)."""
    channel = _channel(channel_id)
    integration = next(
        (i for i in _integrations() if i.id == request.args.get("integration_id", type=int)),
        None,
    )
    index = request.args.get("layer", type=int)
    if integration is None or index is None or not 0 <= index < dispatch_rules.MAX_LAYERS:
        abort(404)
    rule_id = request.args.get("rule_id", type=int)
    rule = _rule(channel, rule_id) if rule_id else None
    chats = dispatch_rules.bot_chats(integration, stale_ok=True)
    version = dispatch_rules.version_of(chats)
    if request.args.get("v") == version:
        return "", 204
    prefix = f"layer{index}-"
    names = (
        (rule.layers[index].get("chat_names") or {}) if rule and index < len(rule.layers) else {}
    )
    html = render_template(
        "dispatch/_layer_chats.html",
        channel=channel,
        integration=integration,
        rule=rule,
        index=index,
        prefix=prefix,
        chats=chats,
        chats_version=version,
        chosen=[c for c in request.args.getlist(prefix + "chat") if c],
        chat_names=names,
    )
    return html, 200, {"Vary": "HX-Request"}


@bp.route("/<int:channel_id>/dispatch/new", methods=["GET", "POST"])
def new_rule(channel_id: int) -> ResponseReturnValue:
    return _edit(_channel(channel_id), None)


@bp.route("/<int:channel_id>/dispatch/<int:rule_id>", methods=["GET", "POST"])
def edit_rule(channel_id: int, rule_id: int) -> ResponseReturnValue:
    channel = _channel(channel_id)
    return _edit(channel, _rule(channel, rule_id))


@bp.post("/<int:channel_id>/dispatch/<int:rule_id>/delete")
def delete_rule(channel_id: int, rule_id: int) -> ResponseReturnValue:
    channel = _channel(channel_id)
    dispatch_rules.delete_rule(_rule(channel, rule_id))
    return redirect(url_for("dispatch.policy", channel_id=channel.id), 303)


def _edit(channel: Channel, rule: DispatchRule | None) -> ResponseReturnValue:
    integrations = [
        i for i in _integrations() if i.enabled or (rule and rule.integration_id == i.id)
    ]
    if not integrations:
        return render_template("dispatch/no_integration.html", channel=channel)
    chosen_id = int(
        request.form.get("integration_id") or (rule.integration_id if rule else integrations[0].id)
    )
    integration = next((i for i in integrations if i.id == chosen_id), integrations[0])
    chats = dispatch_rules.bot_chats(integration)
    errors: dict[str, str] = {}
    notice = None
    data = _input_of(request.form) if request.method == "POST" else _input_from(rule, integration)
    if request.method == "POST" and request.form.get("reload"):
        # The integration select changed: show its bot's chats, keep everything typed.
        if dispatch_rules.keep_chats_of(data, chats):
            notice = _("Chats the bot of %(name)s is not in were unticked.", name=integration.name)
    elif request.method == "POST":
        try:
            saved = dispatch_rules.save_rule(channel, rule, data, chats)
            flash(_("Rule “%(name)s” saved.", name=saved.name), "success")
            return redirect(url_for("dispatch.policy", channel_id=channel.id), 303)
        except RuleInvalid as exc:
            errors = exc.errors
    response = make_response(
        render_template(
            "dispatch/rule_form.html",
            channel=channel,
            rule=rule,
            data=data,
            errors=errors,
            integrations=integrations,
            integration=integration,
            chats=chats,
            chats_version=dispatch_rules.version_of(chats),
            notice=notice,
            severities=[s.value for s in Severity],
            teams=_teams(),
            members=_members(),
            schedules=schedule_targets.choices(current_user.account_id, utcnow()),
            layer_count=dispatch_rules.MAX_LAYERS,
        ),
        422 if errors else 200,
    )
    response.headers["Vary"] = "HX-Request"
    return response


def _input_of(form: MultiDict[str, str]) -> RuleInput:
    layers = []
    for index in range(dispatch_rules.MAX_LAYERS):
        prefix = f"layer{index}-"
        layers.append(
            LayerInput(
                delay_minutes=_int(form.get(prefix + "delay")),
                assignees=bool(form.get(prefix + "assignees")),
                team_ids=[_int(v) for v in form.getlist(prefix + "team")],
                member_ids=[_int(v) for v in form.getlist(prefix + "member")],
                chat_ids=[v for v in form.getlist(prefix + "chat") if v],
                schedule_ids=[_int(v) for v in form.getlist(prefix + "schedule")],
            )
        )
    return RuleInput(
        name=form.get("name", ""),
        integration_id=_int(form.get("integration_id")),
        severities=form.getlist("severity"),
        labels_text=form.get("labels", ""),
        enabled=bool(form.get("enabled")),
        layers=layers,
    )


def _input_from(rule: DispatchRule | None, integration: LarkIntegration) -> RuleInput:
    if rule is None:
        return RuleInput("", integration.id, [], "", True, [LayerInput(assignees=True)])
    layers = [
        LayerInput(
            delay_minutes=int(layer.get("delay_minutes") or 0),
            assignees=bool(layer.get("assignees")),
            team_ids=[int(i) for i in layer.get("team_ids") or []],
            member_ids=[int(i) for i in layer.get("member_ids") or []],
            chat_ids=[str(c) for c in layer.get("chat_ids") or []],
            schedule_ids=[int(i) for i in layer.get("schedule_ids") or []],
        )
        for layer in rule.layers or []
    ]
    labels = "\n".join(f"{k}={v}" for k, v in (rule.label_match or {}).items())
    return RuleInput(
        rule.name, rule.integration_id, list(rule.severities or []), labels, rule.enabled, layers
    )


def _int(raw: str | None) -> int:
    try:
        return int(raw or 0)
    except ValueError:
        return 0


def _teams() -> list[Team]:
    return list(
        db.session.scalars(
            select(Team).where(Team.account_id == current_user.account_id).order_by(Team.name)
        )
    )


def _members() -> list[Member]:
    return list(
        db.session.scalars(
            select(Member).where(Member.account_id == current_user.account_id).order_by(Member.name)
        )
    )


def _describer(gone: dict[str, Any] | None = None) -> Any:
    """Words for one escalation layer: "the assignees, team SRE, Li Lei, chat On-call,
    on call in Core Platform"; a chat the bot left or that was dissolved says so, and so
    does a schedule that was deleted."""
    teams = {t.id: t.name for t in _teams()}
    members = {m.id: m.name for m in _members()}
    schedules = {
        i: n
        for i, n in db.session.execute(
            select(Schedule.id, Schedule.name).where(Schedule.account_id == current_user.account_id)
        )
    }

    def describe(layer: dict[str, Any]) -> str:
        parts = [_("the assignees")] if layer.get("assignees") else []
        parts += [
            _("team %(name)s", name=teams.get(int(t), "?")) for t in layer.get("team_ids") or []
        ]
        parts += [members.get(int(m), "?") for m in layer.get("member_ids") or []]
        names = layer.get("chat_names") or {}
        parts += [
            _chat_words(names.get(c, c), (gone or {}).get(c)) for c in layer.get("chat_ids") or []
        ]
        kept = layer.get("schedule_names") or {}
        parts += [
            _("on call in %(name)s", name=schedules[int(i)])
            if int(i) in schedules
            else _(
                "on call in %(name)s (the schedule was deleted: nobody is paged through it)",
                name=kept.get(str(i), "?"),
            )
            for i in layer.get("schedule_ids") or []
        ]
        return ", ".join(parts)

    return describe


def _chat_words(name: str, gone: Any) -> str:
    if gone is None:
        return _("chat %(name)s", name=name)
    if gone.status is ChatStatus.DISBANDED:
        return _("chat %(name)s (dissolved: nothing is sent there)", name=name)
    return _("chat %(name)s (the bot was removed: nothing is sent there)", name=name)


def init_app(app: Any) -> None:
    app.register_blueprint(bp)
    dispatch_rules.init_app(app)
