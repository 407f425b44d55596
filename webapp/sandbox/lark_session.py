"""Who is signed in to the simulated Lark client in this browser, and whether we are "inside" it.

Two cookies scoped to /_lark (the product never sees them): the Lark user, and the app the
workbench last opened (a real browser cannot send Lark's user agent, so this marks the
page as opened inside the client; see decisions.py, OAuth).
"""

from __future__ import annotations

import re

from flask import request
from werkzeug.wrappers import Response as BaseResponse

from webapp.sandbox.state import Sandbox, User

USER_COOKIE = "lark_sandbox_user"
CLIENT_COOKIE = "lark_sandbox_in_client"
_LARK_UA = re.compile(r"\b(Lark|Feishu|LarkClient)/\d")


def current_user(sandbox: Sandbox) -> User | None:
    open_id = request.cookies.get(USER_COOKIE, "")
    with sandbox.lock:
        return sandbox.users.get(open_id)


def sign_in(response: BaseResponse, open_id: str) -> None:
    response.set_cookie(USER_COOKIE, open_id, path="/_lark", httponly=True, samesite="Lax")


def sign_out(response: BaseResponse) -> None:
    response.delete_cookie(USER_COOKIE, path="/_lark")
    response.delete_cookie(CLIENT_COOKIE, path="/_lark")


def mark_in_client(response: BaseResponse, app_id: str) -> None:
    response.set_cookie(CLIENT_COOKIE, app_id, path="/_lark", httponly=True, samesite="Lax")


def inside_client(app_id: str) -> bool:
    """Opened from the Lark client: its user agent, or our workbench opened this app."""
    if _LARK_UA.search(request.headers.get("User-Agent", "")):
        return True
    return request.cookies.get(CLIENT_COOKIE) == app_id
