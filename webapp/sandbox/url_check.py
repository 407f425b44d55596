"""Lark's url_verification handshake, run when a card or event request URL is saved.

Lark POSTs {"challenge", "token", "type": "url_verification"} (encrypted when the app has
an Encrypt Key) and wants the challenge echoed within 1 second
(docs/lark/callbacks.md#url-verification).
"""

from __future__ import annotations

import uuid

import requests
from flask_babel import gettext as _

from webapp.sandbox import decisions
from webapp.sandbox.callbacks import seal
from webapp.sandbox.state import Sandbox


def verify_url(
    sandbox: Sandbox, app_id: str, url: str, *, events: bool = False
) -> tuple[bool, str]:
    """Lark's url_verification on saving the card (or, with `events`, the event) request
    URL: 1 s, echo the challenge; the URL is kept only when it passes."""
    with sandbox.lock:
        app = sandbox.apps[app_id]
        challenge = str(uuid.uuid4())
        payload = {
            "challenge": challenge,
            "token": app.verification_token,
            "type": "url_verification",
        }
        body = seal(app, payload)
    passed, words = _handshake(url, body, challenge)
    with sandbox.lock:
        if events:
            app.event_url_check = words
            if passed:
                app.event_request_url = url
            return passed, words
        app.url_check, app.url_verified = words, passed
        if passed:
            app.card_request_url = url
    return passed, words


def _handshake(url: str, body: bytes, challenge: str) -> tuple[bool, str]:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    try:
        response = requests.post(
            url,
            data=body,
            headers=headers,
            timeout=decisions.URL_VERIFICATION_TIMEOUT_S,
            allow_redirects=False,
        )
    except requests.Timeout:
        return False, _("Request timed out: the URL must answer within 1 second.")
    except requests.RequestException as error:
        return False, _("Could not reach the URL (%(error)s).", error=type(error).__name__)
    if response.status_code != 200:
        return False, _("The URL answered HTTP %(status)s, not 200.", status=response.status_code)
    try:
        echoed = response.json().get("challenge")
    except (ValueError, AttributeError):
        echoed = None
    if echoed != challenge:
        return False, _("The answer did not echo the challenge code.")
    return True, _("Challenge code verified.")
