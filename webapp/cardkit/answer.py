"""The answer to a button press on a card: a toast in both languages, and the card redrawn."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import force_locale

from webapp.models import LarkIntegration, Platform

Text = Callable[[], str]


class Outcome(enum.StrEnum):
    """What came of a press, kept on its receipt (`CallbackReceipt.outcome`)."""

    OK = "ok"
    NOT_LINKED = "not_linked"
    NO_SEAT = "no_seat"
    FORBIDDEN = "forbidden"
    STALE = "stale"
    CLOSED = "closed"
    BAD_REQUEST = "bad_request"
    ERROR = "error"
    LATE = "late"  # answered before the press finished (webapp/cards/late.py)
    PENDING = "pending"  # a receipt whose press is still running


# Refusals that changed nothing and that the person can fix: a repeat is judged afresh.
RETRYABLE = frozenset(
    {Outcome.NOT_LINKED, Outcome.NO_SEAT, Outcome.FORBIDDEN, Outcome.BAD_REQUEST, Outcome.ERROR}
)


class Tone(enum.StrEnum):
    """A Lark toast's `type` (docs/lark/callbacks.md#answering)."""

    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Answer:
    toast: dict[str, Any]
    card: dict[str, Any] | None  # None leaves the card as it is
    outcome: Outcome
    incident_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"toast": self.toast, "card": self.card, "outcome": self.outcome}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Answer:
        return cls(toast=data["toast"], card=data.get("card"), outcome=Outcome(data["outcome"]))


def platform_locale(integration: LarkIntegration) -> str:
    return "zh" if integration.platform is Platform.FEISHU else "en"


def toast(kind: Tone, text: Text, locale: str) -> dict[str, Any]:
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
