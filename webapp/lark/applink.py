"""Links from a Lark card into our web app.

On real Lark an AppLink opens the page inside the web-app container, where login-free
sign-in works (docs/lark/login.md#applink). We use `lk_target_url` with the exact URL
rather than `path`, so query strings survive; the target shares scheme and host with the
configured home page, which older clients (< 7.27) require. Anywhere else (the sandbox, a
self-hosted stand-in) the plain web URL is the link.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from flask import current_app

from webapp.models import LarkIntegration

# Open API host -> AppLink host.
_APPLINK_HOSTS = {
    "open.feishu.cn": "applink.feishu.cn",
    "open.larksuite.com": "applink.larksuite.com",
}


def plain_url(integration: LarkIntegration, path: str) -> str:
    """`path` is either a full path ("/lark/<key>/incidents/12") or relative to the
    integration's web app ("incidents/12")."""
    base = current_app.config["PUBLIC_BASE_URL"]
    if path.startswith("/lark/"):
        return f"{base}{path}"
    return f"{base}/lark/{integration.key}/{path.lstrip('/')}"


def web_app_url(integration: LarkIntegration, path: str) -> str:
    target = plain_url(integration, path)
    host = _APPLINK_HOSTS.get(urlsplit(integration.api_base_url).hostname or "")
    if host is None:
        return target
    app_id = quote(integration.app_id, safe="")
    return (
        f"https://{host}/client/web_app/open?appId={app_id}&lk_target_url={quote(target, safe='')}"
    )


def incident_url(integration: LarkIntegration, number: int) -> str:
    return web_app_url(integration, f"incidents/{number}")
