"""The OAuth round trip with Lark: sending the browser to Lark's authorize page and taking
the round back at the redirect URL (重定向 URL), and what the session keeps meanwhile.

Asked by the Lark pages' guard (lark_context.py) when nobody is signed in, and by the
homepage's callback (lark_home.py).
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from flask import current_app, redirect, request, session, url_for
from flask.typing import ResponseReturnValue

from webapp.identity.login import safe_next
from webapp.lark import oauth
from webapp.models import LarkIntegration

# The OAuth round trips in progress: state and PKCE verifier (never tokens), in the signed
# cookie. A few are kept so that two tabs (or a client that loads the homepage twice) do
# not spoil each other's sign-in.
OAUTH_SESSION = "lark_oauth"
OAUTH_ROUNDS_KEPT = 3
# The Lark user who came back from OAuth without a binding, waiting on the bind page.
PENDING_SESSION = "lark_pending"
OAUTH_MAX_AGE = 10 * 60  # Lark's code lives 5 minutes; the consent page may take a while
PENDING_MAX_AGE = 30 * 60


def redirect_uri(integration: LarkIntegration) -> str:
    """The 重定向 URL shown on the integration page; Lark compares it exactly."""
    return f"{current_app.config['PUBLIC_BASE_URL']}/lark/{integration.key}/oauth/callback"


def start_login(integration: LarkIntegration) -> ResponseReturnValue:
    """Send the browser to Lark's authorize page; come back to where it was going."""
    home = url_for("lark.home", key=integration.key)
    if request.headers.get("HX-Request"):
        return "", 200, {"HX-Redirect": home}
    if request.method != "GET":
        return redirect(home, 303)
    auth = oauth.start(integration, redirect_uri(integration))
    rounds = [r for r in session.get(OAUTH_SESSION) or [] if isinstance(r, dict)]
    rounds.append(
        {
            "key": integration.key,
            "state": auth.state,
            "verifier": auth.code_verifier,
            "next": safe_next(request.full_path.rstrip("?"), home),
            "at": int(time.time()),
        }
    )
    session[OAUTH_SESSION] = rounds[-OAUTH_ROUNDS_KEPT:]
    return redirect(auth.url, 302)


def take_oauth_round(integration: LarkIntegration) -> dict[str, Any] | None:
    """The round trip this callback answers, used at most once (removed), and recent."""
    state = request.args.get("state", "")
    rounds = [r for r in session.get(OAUTH_SESSION) or [] if isinstance(r, dict)]
    found = next(
        (r for r in rounds if state and hmac.compare_digest(str(r.get("state", "")), state)),
        None,
    )
    if found is None:
        return None
    session[OAUTH_SESSION] = [r for r in rounds if r is not found]
    if found.get("key") != integration.key:
        return None
    if time.time() - int(found.get("at", 0)) > OAUTH_MAX_AGE:
        return None
    return found
