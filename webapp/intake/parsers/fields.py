"""Readers of the fields every tool's body shares: strings, maps, times, status, severity.

Each reader records what is wrong in `errors` (field name -> message) instead of raising, so
a parser names every bad field of a body at once. The caps below are the README's limits.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from webapp.models import AlertStatus, Severity

MAX_ALERTS = 500
# Caps on each alert's labels and annotations (count, key and value length).
MAX_MAP_ENTRIES = 64
MAX_KEY_LENGTH = 128
MAX_VALUE_LENGTH = 4000

CRIT, WARN, INFO = Severity.CRITICAL, Severity.WARNING, Severity.INFO

# The common vocabulary, lower case: our generic JSON, Alertmanager's and Grafana's
# `severity` label. It takes every word any tool uses; a tool with words of its own
# (Zabbix, Nightingale) keeps them in its parser module.
SEVERITY_WORDS: dict[str, Severity] = {
    "critical": CRIT,
    "crit": CRIT,
    "error": CRIT,
    "high": CRIT,
    "disaster": CRIT,
    "p0": CRIT,
    "p1": CRIT,
    "s1": CRIT,
    "严重": CRIT,
    "warning": WARN,
    "warn": WARN,
    "average": WARN,
    "p2": WARN,
    "s2": WARN,
    "警告": WARN,
    "info": INFO,
    "information": INFO,
    "informational": INFO,
    "not classified": INFO,
    "none": INFO,
    "p3": INFO,
    "p4": INFO,
    "s3": INFO,
    "提醒": INFO,
}


def severity(
    value: Any, words: Mapping[str, Severity], name: str, errors: dict[str, str]
) -> Severity | None:
    """Our severity for a tool's word; else an error naming the words it accepts."""
    word = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if word is not None and word in words:
        return words[word]
    errors[name] = "one of " + ", ".join(words)
    return None


def status(value: Any, name: str, errors: dict[str, str]) -> AlertStatus | None:
    if isinstance(value, str) and value.lower() in ("firing", "resolved"):
        return AlertStatus(value.lower())
    errors[name] = "one of firing, resolved"
    return None


def optional_str(
    body: dict[str, Any], name: str, prefix: str, errors: dict[str, str], limit: int
) -> str:
    value = body.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[prefix + name] = "must be a string"
        return ""
    if len(value) > limit:
        errors[prefix + name] = f"at most {limit} characters"
    return value


def text(body: dict[str, Any], name: str, errors: dict[str, str], limit: int = 500) -> str:
    """A field that tools send as a string or a number, stripped and cut at `limit`."""
    value = body.get(name, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        errors[name] = "must be a string"
        return ""
    return value.strip()[:limit]


def str_map(
    value: Any, name: str, errors: dict[str, str], required: bool = False
) -> dict[str, str]:
    """Labels or annotations: at most MAX_MAP_ENTRIES string values, keys of at most
    MAX_KEY_LENGTH and values of at most MAX_VALUE_LENGTH characters; the error names the limit."""
    if value is None and not required:
        return {}
    if not isinstance(value, dict) or (required and not value):
        errors[name] = "required: an object of string values" if required else "must be an object"
        return {}
    if len(value) > MAX_MAP_ENTRIES:
        errors[name] = f"at most {MAX_MAP_ENTRIES} entries (got {len(value)})"
        return {}
    for key, item in value.items():
        if len(key) > MAX_KEY_LENGTH:
            errors[f"{name}.{key[:40]}…"] = f"keys are at most {MAX_KEY_LENGTH} characters"
            return {}
        if not isinstance(item, str) or len(item) > MAX_VALUE_LENGTH:
            errors[f"{name}.{key}"] = f"must be a string of at most {MAX_VALUE_LENGTH:,} characters"
            return {}
    return dict(value)


def time(value: Any, name: str, errors: dict[str, str], required: bool = False) -> datetime | None:
    if value is None or value == "":
        if required:
            errors[name] = "required: an RFC 3339 time"
        return None
    if not isinstance(value, str):
        errors[name] = "must be an RFC 3339 time"
        return None
    stamp = value.replace("Z", "+00:00")
    # Alertmanager sends nanoseconds; Python takes at most microseconds.
    if "." in stamp:
        head, _, tail = stamp.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        zone = tail[len(digits) :]
        stamp = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    try:
        parsed = datetime.fromisoformat(stamp)
    except ValueError:
        errors[name] = "must be an RFC 3339 time"
        return None
    if parsed.year <= 1:
        return parsed.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def url(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) < 2000:
        return value
    return None


def fingerprint(labels: dict[str, str]) -> str:
    canonical = json.dumps(labels, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
