"""The words of a storm or flapping notice, drawn when it is sent (in the chat's language)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from flask_babel import gettext as _

from webapp.models import EventKind


def words(payload: dict[str, Any], zone: tzinfo) -> tuple[str, list[str]]:
    """The notice's title and lines; alert text stays plain text on the card."""
    number, title = payload.get("number"), str(payload.get("title") or "")
    if payload.get("what") == EventKind.STORM:
        return _("Alert storm on incident #%(number)s", number=number), [
            _(
                "%(count)s alerts have joined #%(number)s (threshold %(threshold)s): %(title)s",
                count=payload.get("alerts"),
                number=number,
                threshold=payload.get("threshold"),
                title=title,
            )
        ]
    return _("A flapping alert is muted on #%(number)s", number=number), [
        _(
            "“%(alert)s” keeps firing and recovering; its pages are muted until %(until)s. "
            "It is still recorded on the incident.",
            alert=str(payload.get("alert") or title),
            until=_local(payload.get("until"), zone),
        )
    ]


def _local(moment: Any, zone: tzinfo) -> str:
    try:
        return datetime.fromisoformat(str(moment)).astimezone(zone).strftime("%Y-%m-%d %H:%M %z")
    except ValueError:
        return "?"
