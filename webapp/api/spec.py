"""The API's blueprint and its OpenAPI 3.1 document, built from the code by SpecTree.

Each resource module declares its routes with `operation`: the bearer token is checked
first (401 / 403 / 429), then a JSON body must parse (400), then SpecTree validates the
query and body against the pydantic models (422, as problem details naming each field) and
the answer against its model. Adding a resource is one module listed in `webapp/api/__init__.py`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, get_type_hints

from flask import Blueprint, Request, Response, request
from flask_babel import gettext as _
from pydantic import BaseModel, ValidationError
from spectree import Response as Answers
from spectree import SecurityScheme, SecuritySchemeData, SpecTree
from spectree.models import SecureType

from webapp.api import auth, problems
from webapp.api.problems import ApiProblem, Problem
from webapp.tokens.service import TokenScope

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")
bp.register_error_handler(ApiProblem, problems.from_problem)

DESCRIPTION = """\
The on-call REST API. Send `Authorization: Bearer <token>` with a token an admin made on
**API tokens** (or `flask tokens create`). A read token lists and reads; a write token also
declares and changes incidents. Errors are RFC 9457 problem details. Creates accept an
`Idempotency-Key` header: the same key within 24 hours returns the first answer."""


def _invalid_input(
    req: Request, resp: Response | None, error: Exception | None, *rest: Any
) -> None:
    """SpecTree's 422 becomes a problem document naming each wrong field."""
    if not isinstance(error, ValidationError) or resp is None:
        return
    body = problems.document(
        422, "invalid-input", _("Some fields are wrong."), problems.field_errors(error)
    )
    resp.set_data(json.dumps(body))
    resp.mimetype = problems.MEDIA_TYPE


spec = SpecTree(
    "flask",
    path="_openapi",  # SpecTree's own pages are not served: /api/v1/docs is ours
    mode="strict",
    title="On-call API",
    version="1.0.0",
    description=DESCRIPTION,
    page_templates={},
    annotations=True,
    before=_invalid_input,
    validation_error_model=Problem,
    naming_strategy=lambda model: model.__name__,
    security_schemes=[
        SecurityScheme(
            name="bearer",
            data=SecuritySchemeData(
                type=SecureType.HTTP, scheme="bearer", bearer_format="oncall_<prefix>_<secret>"
            ),
        )
    ],
    security={"bearer": []},
)

# Every operation may answer these; each one's own come on top.
_REFUSALS = {"HTTP_401": Problem, "HTTP_403": Problem, "HTTP_404": Problem, "HTTP_429": Problem}

View = Callable[..., Any]


def operation(
    need: TokenScope, answers: dict[str, type[BaseModel]], tag: str
) -> Callable[[View], View]:
    """Declare an API operation: token scope `need`, the models of its answers by status
    (`{"HTTP_200": IncidentOut}`), and the tag it is listed under."""

    def wrap(view: View) -> View:
        takes_json = "json" in get_type_hints(view)
        extra = (
            {"HTTP_400": Problem, "HTTP_409": Problem, "HTTP_415": Problem} if takes_json else {}
        )
        validated = spec.validate(
            resp=Answers(**answers, **_REFUSALS, **extra),
            tags=[tag],
            operation_id=view.__name__,
        )(view)

        @functools.wraps(validated)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            auth.check(need)
            if takes_json:
                _check_json_body()
            return validated(*args, **kwargs)

        return guarded

    return wrap


def _check_json_body() -> None:
    """A body that is not JSON is refused whole before any field is read."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return
    if request.mimetype != "application/json":
        raise ApiProblem(415, "unsupported-media-type", _("Send the body as application/json."))
    try:
        json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: deep nesting
        raise ApiProblem(400, "malformed-json", _("The body is not valid JSON.")) from None
