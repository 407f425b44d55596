"""Who calls the API: the bearer token (never a cookie session), its scope, its rate limit,
and the actor its changes are recorded under."""

from __future__ import annotations

from flask import current_app, g, request
from flask_babel import gettext as _
from limits import parse

from webapp import ratelimit
from webapp.api.problems import ApiProblem
from webapp.incidents.service import Actor
from webapp.models import ApiToken, Source
from webapp.tokens import service as tokens
from webapp.tokens.service import TokenScope

_KINDS = {401: "unauthorized", 403: "forbidden", 429: "rate-limited"}


def check(need: TokenScope) -> ApiToken:
    """The request's token, allowed `need` and within its rate limit; else an ApiProblem."""
    try:
        token = tokens.authenticate(request.headers.get("Authorization"), need)
    except tokens.TokenRefused as refused:
        headers = {"WWW-Authenticate": 'Bearer realm="api"'} if refused.status == 401 else {}
        if refused.retry_after:
            headers["Retry-After"] = str(refused.retry_after)
        raise ApiProblem(
            refused.status, _KINDS[refused.status], refused.detail, headers=headers
        ) from None
    _within_rate(token)
    g.api_token = token
    return token


def _within_rate(token: ApiToken) -> None:
    limit = parse(current_app.config["API_RATE_LIMIT"])
    limiter = ratelimit.limiter()
    if limiter.hit(limit, "api-token", str(token.id)):
        return
    wait = limiter.retry_after(limit, "api-token", str(token.id))
    raise ApiProblem(
        429,
        "rate-limited",
        _("This token made too many requests. Try again in %(n)s seconds.", n=wait),
        headers={"Retry-After": str(wait)},
    )


def token() -> ApiToken:
    found: ApiToken = g.api_token
    return found


def actor() -> Actor:
    """Changes made through the API are the token's: source `api`, and its name on the
    timeline ("API token deploy-pipeline"), not a person who did not press anything."""
    return Actor(None, Source.API, via=token().name)
