"""The war room button on the incident page (and the card's action code "war_room"): open the
incident's Lark group chat, or say why not, as an htmx region or a plain form post.
"""

from __future__ import annotations

import json

from flask import Blueprint, abort, g, make_response, redirect, render_template, request
from flask.typing import ResponseReturnValue

from webapp.dispatch import war_rooms
from webapp.incidents import lookup as incident_lookup
from webapp.incidents.service import Actor, IncidentError
from webapp.lark import applink
from webapp.models import LarkIntegration, Source, WarRoom
from webapp.views.lark_context import lark_member_required

bp = Blueprint("war_room", __name__)


@bp.post("/lark/<key>/incidents/<int:number>/war-room")
@lark_member_required
def open_war_room(key: str, number: int) -> ResponseReturnValue:
    integration: LarkIntegration = g.lark.integration
    # The same lookup as every other incident route: one the member may not see is a 404.
    incident = incident_lookup.row(g.lark.member, number)
    if incident is None:
        abort(404)
    room: WarRoom | None
    try:
        room = war_rooms.open_war_room(incident, Actor(g.lark.member, Source.WEB))
        message = war_rooms.status_words(room)
        kind = "warning" if room.missing or room.closed_at else "success"
    except IncidentError as exc:
        room, message, kind = war_rooms.room_of(incident), str(exc), "error"
    if request.headers.get("HX-Request") != "true":
        return redirect(applink.plain_url(integration, f"incidents/{number}"), 303)
    response = make_response(
        render_template("dispatch/_war_room.html", incident=incident, room=room, key=key)
    )
    response.headers["HX-Trigger"] = json.dumps({"toast": {"message": message, "kind": kind}})
    response.headers["Vary"] = "HX-Request"
    return response
