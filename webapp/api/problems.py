"""RFC 9457 problem details: every error under /api/v1/ is `application/problem+json` with
`type`, `title`, `status`, `detail` and, when input was wrong, `errors` naming each field."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, json
from pydantic import BaseModel, Field, ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

MEDIA_TYPE = "application/problem+json"
# Problem types are documented on the reference page, one anchor per kind.
TYPE_BASE = "/api/v1/docs#problem-"


class FieldError(BaseModel):
    field: str = Field(description="Where the wrong value is: `title`, `member_ids.0`, `limit`.")
    message: str


class Problem(BaseModel):
    """An error, as RFC 9457 describes (application/problem+json)."""

    type: str = Field(description="A URI naming the kind of problem.")
    title: str = Field(description="The kind of problem, the same for every occurrence.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong this time, for a person.")
    errors: list[FieldError] | None = Field(
        default=None, description="Each wrong field, when the input was wrong."
    )


class ApiProblem(Exception):
    """Raised by an API view to answer with a problem document."""

    def __init__(
        self,
        status: int,
        kind: str,
        detail: str,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


def document(
    status: int, kind: str, detail: str, errors: list[FieldError] | None = None
) -> dict[str, Any]:
    problem = Problem(
        type=TYPE_BASE + kind,
        title=HTTP_STATUS_CODES.get(status, "Error"),
        status=status,
        detail=detail,
        errors=errors,
    )
    return problem.model_dump(exclude_none=True)


def response(
    status: int,
    kind: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    body = {**document(status, kind, detail, errors), **(extra or {})}
    answer = current_app.response_class(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    answer.headers.update(headers or {})
    return answer


def from_problem(problem: ApiProblem) -> Response:
    return response(problem.status, problem.kind, problem.detail, problem.errors, problem.headers)


def from_http(error: HTTPException, detail: str, slug: str) -> Response:
    """Werkzeug's errors (404 of an unknown path, 405, 413...) under /api/v1/. `error` is
    kept beside the standard members for the alert intake's older clients."""
    allow = [value for name, value in error.get_headers() if name == "Allow"]
    headers = {"Allow": allow[0]} if allow else {}
    kind = slug.replace("_", "-")
    return response(error.code or 500, kind, detail, headers=headers, extra={"error": slug})


def field_errors(error: ValidationError) -> list[FieldError]:
    """pydantic's errors as (field, message) pairs; `loc` joined with dots."""
    found = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "body"
        found.append(FieldError(field=where, message=item["msg"]))
    return found
