"""Alertmanager's HTTP API v2, the part about silences, so amtool, Grafana and Karma work.

One base URL for every account, `<PUBLIC_BASE_URL>/alertmanager`: the bearer token (an
account API token) decides the account. amtool's `--alertmanager.url` and Grafana's
Alertmanager data source both take a base URL with a path and append `/api/v2/...`, and a
token already belongs to one account, so a URL naming the account could only disagree with
it. Reads need a read token, changes a write token. Answers follow Alertmanager's OpenAPI
spec (api/v2/openapi.yaml) field for field, since amtool's go-swagger models refuse an answer
missing a required field; errors are a JSON string, as Alertmanager sends them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from webapp.extensions import csrf, db
from webapp.incidents.service import Actor
from webapp.intake.parsers.fields import time as rfc3339
from webapp.models import Silence, Source, utcnow
from webapp.silences import service
from webapp.silences.matchers import MatcherInvalid, from_json, load, parse
from webapp.tokens.service import ApiToken, TokenRefused, TokenScope, authenticate

bp = Blueprint("alertmanager", __name__, url_prefix="/alertmanager/api/v2")
csrf.exempt(bp)

VERSION = "0.27.0"  # the Alertmanager API whose silence part this serves
STARTED = datetime.now(UTC)  # "uptime" is when this process started
# Alertmanager's order: active, then pending, then expired.
ORDER = {"active": 0, "pending": 1, "expired": 2}


class Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@bp.errorhandler(Refused)
def _refused(exc: Refused) -> ResponseReturnValue:
    response = jsonify(exc.detail)
    response.status_code = exc.status
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="alertmanager"'
    return response


def _token(need: TokenScope) -> ApiToken:
    try:
        return authenticate(request.headers.get("Authorization"), need)
    except TokenRefused as exc:
        raise Refused(exc.status, exc.detail) from None


@bp.get("/status")
def status() -> ResponseReturnValue:
    _token(TokenScope.READ)
    return jsonify(
        cluster={"status": "disabled", "peers": []},
        versionInfo={
            "version": VERSION,
            "revision": "oncall",
            "branch": "oncall",
            "buildUser": "oncall",
            "buildDate": STARTED.strftime("%Y%m%d-%H:%M:%S"),
            "goVersion": "none",
        },
        # No routing tree lives here: silences only, so the config says just that.
        config={"original": "# silences only: alerts are routed by the on-call product\n"},
        uptime=stamp(STARTED),
    )


@bp.get("/silences")
def list_silences() -> ResponseReturnValue:
    token = _token(TokenScope.READ)
    try:
        wanted = [parse(text) for text in request.args.getlist("filter")]
    except MatcherInvalid as exc:
        raise Refused(400, str(exc)) from None
    now = utcnow()
    found = [
        s
        for s in db.session.scalars(
            select(Silence).where(
                Silence.account_id == token.account_id, Silence.window_id.is_(None)
            )
        )
        if all(m.as_json() in s.matchers for m in wanted)
    ]
    found.sort(key=lambda s: _order(s, now))
    return jsonify([gettable(s, now) for s in found])


def _order(silence: Silence, now: datetime) -> tuple[int, float]:
    state = silence.state(now)
    if state == "pending":
        return ORDER[state], silence.starts_at.timestamp()
    sign = -1 if state == "expired" else 1  # expired: the latest ended first
    return ORDER[state], sign * silence.ends_at.timestamp()


@bp.post("/silences")
def post_silence() -> ResponseReturnValue:
    token = _token(TokenScope.WRITE)
    body = _json()
    silence_id = body.get("id") or None
    if silence_id is not None and not isinstance(silence_id, str):
        raise Refused(400, "id: must be a string")
    data = postable(body)
    actor = Actor(None, Source.API)
    try:
        saved = service.save(token.account_id, data, actor, silence_id, who=_who(token))
    except service.SilenceRefused as exc:
        raise Refused(400, f"silence invalid: {exc}") from None
    except service.SilenceNotFound:
        raise Refused(404, "silence not found") from None
    return jsonify(silenceID=saved.id)


@bp.get("/silence/<silence_id>")
def get_silence(silence_id: str) -> ResponseReturnValue:
    token = _token(TokenScope.READ)
    silence = service.get(token.account_id, silence_id)
    if silence is None or silence.window_id is not None:
        raise Refused(404, "silence not found")
    return jsonify(gettable(silence, utcnow()))


@bp.delete("/silence/<silence_id>")
def delete_silence(silence_id: str) -> ResponseReturnValue:
    token = _token(TokenScope.WRITE)
    try:
        service.expire(token.account_id, silence_id, Actor(None, Source.API), _who(token))
    except service.SilenceNotFound:
        raise Refused(404, "silence not found") from None
    return Response(status=200)


# -- shapes ---------------------------------------------------------------------------


def gettable(silence: Silence, now: datetime) -> dict[str, Any]:
    """Alertmanager's gettableSilence."""
    return {
        "id": silence.id,
        "status": {"state": silence.state(now)},
        "updatedAt": stamp(silence.updated_at),
        "matchers": [m.as_json() for m in load(silence.matchers)],
        "startsAt": stamp(silence.starts_at),
        "endsAt": stamp(silence.ends_at),
        "createdBy": silence.created_by,
        "comment": silence.comment,
    }


def postable(body: dict[str, Any]) -> service.SilenceInput:
    """Alertmanager's postableSilence, every required field checked."""
    raw = body.get("matchers")
    if not isinstance(raw, list) or not raw:
        raise Refused(400, "matchers: required, a list of at least one matcher")
    try:
        wanted = [from_json(m, f"matchers[{i}]") for i, m in enumerate(raw[:64])]
    except MatcherInvalid as exc:
        raise Refused(400, str(exc)) from None
    errors: dict[str, str] = {}
    starts = rfc3339(body.get("startsAt"), "startsAt", errors, required=True)
    ends = rfc3339(body.get("endsAt"), "endsAt", errors, required=True)
    created_by, comment = body.get("createdBy"), body.get("comment")
    if not isinstance(created_by, str):
        errors["createdBy"] = "required: a string"
    if not isinstance(comment, str):
        errors["comment"] = "required: a string"
    if errors or starts is None or ends is None:
        raise Refused(400, "; ".join(f"{k}: {v}" for k, v in errors.items()))
    return service.SilenceInput(wanted, starts, ends, str(created_by), str(comment))


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json() -> dict[str, Any]:
    try:
        body = json.loads(request.get_data(cache=False) or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: deep nesting
        raise Refused(400, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise Refused(400, "the body must be a JSON object (a postableSilence)")
    return body


def _who(token: ApiToken) -> str:
    return f"API token {token.name}"


def base_url() -> str:
    """What to give amtool's --alertmanager.url and Grafana's data source."""
    return f"{current_app.config['PUBLIC_BASE_URL']}/alertmanager"
