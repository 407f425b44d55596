"""Settings from the environment, through typed helpers that fail loudly.

Tests and scripts pass a mapping to `create_app(config)`; that mapping wins over the
environment, so nothing in a test depends on the shell it runs in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

from limits import parse


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the variable."""


def env_str(name: str, default: str | None = None, env: Mapping[str, str] = os.environ) -> str:
    value = env.get(name, default)
    if value is None or value == "":
        raise ConfigError(f"{name} must be set (see the configuration table in README.md)")
    return value


def env_bool(name: str, default: bool, env: Mapping[str, str] = os.environ) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_rate(name: str, default: str, env: Mapping[str, str] = os.environ) -> str:
    raw = env.get(name) or default
    try:
        parse(raw)
    except ValueError:
        raise ConfigError(f"{name} must read like 600/minute, got {raw!r}") from None
    return raw


def env_int(name: str, default: int, env: Mapping[str, str] = os.environ) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


@dataclass(frozen=True)
class SmtpSettings:
    """Where e-mail goes: `smtp://user:pass@host:port` (plain SMTP, for a local or trusted
    relay) or `smtps://...` (TLS from the first byte)."""

    tls: bool
    host: str
    port: int
    user: str | None
    password: str | None


def parse_smtp_url(raw: str) -> SmtpSettings:
    """SMTP_URL in its parts; a malformed one is a ConfigError naming the variable."""
    try:
        parts = urlsplit(raw.strip())
        port = parts.port
    except ValueError:
        raise ConfigError(f"SMTP_URL has a bad port: {raw!r}") from None
    if parts.scheme not in ("smtp", "smtps"):
        raise ConfigError(f"SMTP_URL must start with smtp:// or smtps://, got {raw!r}")
    if not parts.hostname:
        raise ConfigError(f"SMTP_URL must name a host (smtp://user:pass@host:port), got {raw!r}")
    tls = parts.scheme == "smtps"
    return SmtpSettings(
        tls=tls,
        host=parts.hostname,
        port=port or (465 if tls else 25),
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def mail_settings(env: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """SMTP_URL and MAIL_FROM: both unset means no e-mail; a half-set pair fails loudly."""
    smtp_url = (env.get("SMTP_URL") or "").strip() or None
    mail_from = (env.get("MAIL_FROM") or "").strip() or None
    if smtp_url is None:
        return {"SMTP_URL": None, "MAIL_FROM": mail_from}
    parse_smtp_url(smtp_url)
    if mail_from is None or "@" not in mail_from:
        raise ConfigError(
            f"MAIL_FROM must be an e-mail address when SMTP_URL is set, got {mail_from!r}"
        )
    return {"SMTP_URL": smtp_url, "MAIL_FROM": mail_from}


def normalise_database_url(url: str) -> str:
    """Let `postgresql://` mean psycopg 3, the driver we ship."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def from_environment(env: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """Read every setting the app knows. Defaults suit the embedded demo on one machine."""
    debug = env_bool("FLASK_DEBUG", False, env)
    sandbox = env_bool("LARK_SANDBOX", False, env)
    secret_default = "dev-only-not-secret" if (debug or sandbox) else None
    return {
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(
            env_str("DATABASE_URL", "sqlite:///app.db", env)
        ),
        "SECRET_KEY": env_str("SECRET_KEY", secret_default, env),
        # Fernet keys (comma-separated, newest first) that encrypt Lark secrets at rest.
        "DATA_KEY": env_str("DATA_KEY", _DEMO_DATA_KEY if (debug or sandbox) else None, env),
        "REDIS_URL": env.get("REDIS_URL") or None,
        "PUBLIC_BASE_URL": env.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "LARK_SANDBOX": sandbox,
        "LARK_FEISHU_API_BASE": env.get("LARK_FEISHU_API_BASE", "https://open.feishu.cn"),
        "LARK_FEISHU_ACCOUNTS_BASE": env.get(
            "LARK_FEISHU_ACCOUNTS_BASE", "https://accounts.feishu.cn"
        ),
        "LARK_INTL_API_BASE": env.get("LARK_INTL_API_BASE", "https://open.larksuite.com"),
        "LARK_INTL_ACCOUNTS_BASE": env.get(
            "LARK_INTL_ACCOUNTS_BASE", "https://accounts.larksuite.com"
        ),
        "LARK_HTTP_TIMEOUT": float(env_int("LARK_HTTP_TIMEOUT_MS", 5000, env)) / 1000.0,
        "LARK_FREE_MONTHLY_QUOTA": env_int("LARK_FREE_MONTHLY_QUOTA", 10_000, env),
        # Origins besides our own that may frame the pages (Lark's web view and sidebars),
        # space-separated; empty means only ourselves, and X-Frame-Options is sent too.
        "LARK_FRAME_ANCESTORS": env.get(
            "LARK_FRAME_ANCESTORS",
            "https://*.feishu.cn https://*.larksuite.com https://*.feishu.net "
            "https://*.larkoffice.com",
        ),
        # A sign-in ends after this long without a request, and this long after it began.
        "SESSION_IDLE_HOURS": env_int("SESSION_IDLE_HOURS", 12, env),
        "SESSION_MAX_DAYS": env_int("SESSION_MAX_DAYS", 30, env),
        "PERMANENT_SESSION_LIFETIME": timedelta(days=env_int("SESSION_MAX_DAYS", 30, env)),
        "SESSION_COOKIE_SECURE": env_bool("SESSION_COOKIE_SECURE", False, env),
        "SESSION_COOKIE_SAMESITE": env.get("SESSION_COOKIE_SAMESITE", "Lax"),
        "SESSION_COOKIE_HTTPONLY": True,
        # Webhooks to this machine's own addresses (127.0.0.1, ::1): off unless the operator
        # runs the receiver beside the app. Link-local addresses are refused whatever this says.
        "WEBHOOKS_ALLOW_LOOPBACK": env_bool("WEBHOOKS_ALLOW_LOOPBACK", False, env),
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "en",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Requests one API token may make (the `limits` library's notation).
        "API_RATE_LIMIT": env_rate("API_RATE_LIMIT", "600/minute", env),
        **mail_settings(env),
    }


# A fixed, public key for the sandboxed demo only: `from_environment` refuses to start
# without DATA_KEY unless FLASK_DEBUG or LARK_SANDBOX is on.
_DEMO_DATA_KEY = "ZGVtby1vbmx5LWtleS1kby1ub3QtdXNlLWluLXByb2Q="
