"""Schedules over HTTP: the calendar feed a calendar app subscribes to."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, abort

from webapp.schedules import feeds

bp = Blueprint("schedules", __name__)


@bp.get("/calendar/<token>.ics")
def calendar(token: str) -> Response:
    feed = feeds.feed_of(token)
    if feed is None:
        abort(404)
    return Response(feeds.render(feed), mimetype="text/calendar")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
