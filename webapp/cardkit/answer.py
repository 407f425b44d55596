"""The answer to a button press on a card: a toast in both languages, and the card redrawn."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import force_locale

from webapp.models import LarkIntegration, Platform

Text = Callable[[], str]


@dataclass(frozen=True)
class Answer:
    toast: dict[str, Any]
    card: dict[str, Any] | None  # None leaves the card as it is
    outcome: str  # ok | not_linked | no_seat | forbidden | stale | closed | bad_request | error
    # (and late: answered before the press finished, see webapp/cards/late.py)
    incident_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"toast": self.toast, "card": self.card, "outcome": self.outcome}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Answer:
        return cls(toast=data["toast"], card=data.get("card"), outcome=data["outcome"])


def platform_locale(integration: LarkIntegration) -> str:
    return "zh" if integration.platform is Platform.FEISHU else "en"


def toast(kind: str, text: Text, locale: str) -> dict[str, Any]:
    """A Lark toast in both languages; `content` in `locale`."""
    with force_locale("zh"):
        zh = text()
    with force_locale("en"):
        en = text()
    return {
        "type": kind,
        "content": zh if locale == "zh" else en,
        "i18n": {"zh_cn": zh, "en_us": en},
    }
