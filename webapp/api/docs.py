"""/api/v1/openapi.json (the OpenAPI 3.1 document SpecTree builds from the code, with the
errors' media type and headers filled in) and /api/v1/docs, a reference page drawn from it
on the server: no script, no CDN."""

from __future__ import annotations

import copy
from typing import Any

from flask import current_app, jsonify, render_template
from flask.typing import ResponseReturnValue

from webapp.api import problems
from webapp.api.spec import bp, spec

# The kinds of problem the API answers with, for the reference page's anchors.
PROBLEM_KINDS = {
    "unauthorized": "401: no token, or one that is unknown, revoked or expired.",
    "forbidden": "403: a read token asked to change something.",
    "not-found": "404: nothing of this account at this address.",
    "method-not-allowed": "405: this address does not take this method.",
    "malformed-json": "400: the body is not JSON.",
    "unsupported-media-type": "415: a body that is not application/json.",
    "invalid-input": "422: fields are wrong; `errors` names each one.",
    "idempotency-key-reused": "422: an Idempotency-Key reused for another request.",
    "invalid-transition": "409: the incident's state does not allow it (already resolved...).",
    "stale": "409: `expected_version` is not the incident's version any more.",
    "rate-limited": "429: too many requests; wait `Retry-After` seconds.",
}

_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}


def document() -> dict[str, Any]:
    """The OpenAPI document, built once per process (the routes do not change)."""
    cached: dict[str, Any] | None = current_app.extensions.get("api_v1_document")
    if cached is None:
        cached = _finished(copy.deepcopy(spec.spec))
        current_app.extensions["api_v1_document"] = cached
    return cached


def _finished(doc: dict[str, Any]) -> dict[str, Any]:
    for path in doc.get("paths", {}).values():
        for operation in path.values():
            for code, answer in operation.get("responses", {}).items():
                if int(code) >= 400 and "content" in answer:
                    answer["content"] = {problems.MEDIA_TYPE: answer["content"]["application/json"]}
                if code == "429":
                    answer["headers"] = _RETRY_AFTER
    return doc


@bp.get("/openapi.json")
def openapi_json() -> ResponseReturnValue:
    return jsonify(document())


@bp.get("/docs")
def reference() -> ResponseReturnValue:
    doc = document()
    return render_template(
        "api/reference.html",
        doc=doc,
        operations=_operations(doc),
        schemas=doc.get("components", {}).get("schemas", {}),
        problem_kinds=PROBLEM_KINDS,
    )


def _operations(doc: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Operations grouped by tag, in the order the paths come."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, methods in doc.get("paths", {}).items():
        for method, operation in methods.items():
            tag = (operation.get("tags") or ["other"])[0]
            groups.setdefault(tag, []).append({"path": path, "method": method.upper(), **operation})
    return list(groups.items())
