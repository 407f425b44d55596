"""Security headers on every answer: what may frame us, run scripts, or sniff types.

One after-request hook rather than Flask-Talisman: we need only four headers, HTTPS
redirects belong to the proxy in front, and the framing list must include Lark's web view
hosts (`LARK_FRAME_ANCESTORS`), which Talisman's X-Frame-Options default would refuse.
"""

from __future__ import annotations

from flask import Flask, Response, current_app


def policy(frame_ancestors: str) -> str:
    """`script-src 'self'`: no inline scripts or on*= handlers anywhere in the templates.
    Inline styles stay allowed (style attributes, htmx's indicator style)."""
    ancestors = " ".join(["'self'", *frame_ancestors.split()])
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'self'",
            f"frame-ancestors {ancestors}",
        ]
    )


def _add_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault(
        "Content-Security-Policy", policy(current_app.config["LARK_FRAME_ANCESTORS"])
    )
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if not current_app.config["LARK_FRAME_ANCESTORS"].split():
        # Only when no Lark host may frame us: X-Frame-Options cannot name other origins,
        # and browsers that know CSP ignore it anyway.
        headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    return response


def init_app(app: Flask) -> None:
    app.after_request(_add_headers)
