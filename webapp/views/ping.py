"""Heartbeat pings: `/ping/<token>` by GET, HEAD or POST, without sign-in or CSRF (cron jobs,
Alertmanager's Watchdog receiver); the token in the URL is the credential."""

from __future__ import annotations

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from webapp.extensions import csrf
from webapp.heartbeats import service as heartbeats

bp = Blueprint("ping", __name__)

MAX_TOKEN = 64


@bp.route("/ping/<token>", methods=["GET", "HEAD", "POST"])
@csrf.exempt
def ping(token: str) -> ResponseReturnValue:
    plain = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
    if not heartbeats.allow_ping(token[:MAX_TOKEN], request.remote_addr or "unknown"):
        headers = {**plain, "Retry-After": str(heartbeats.RETRY_AFTER_S)}
        return "Too many pings: wait a minute.\n", 429, headers
    if len(token) > MAX_TOKEN or heartbeats.ping(token) is None:
        return (
            "No heartbeat has this ping URL: copy it again from the Heartbeats page.\n",
            404,
            plain,
        )
    return "OK\n", 200, plain
