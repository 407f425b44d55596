"""The vocabularies templates compare against, as Jinja globals.

A template writes `incident.status == Status.CLOSED` or `c.status == Level.OK`, never a bare
string that a renamed value would silently stop matching."""

from __future__ import annotations

import enum
from typing import Any

from webapp.delivery.outcomes import ToldState, ToldVia
from webapp.diagnostics.checks import Level
from webapp.incidents.states import State
from webapp.models import (
    AlertStatus,
    ChatStatus,
    DeliveryKind,
    Edition,
    EventKind,
    Platform,
    Source,
    Status,
)

ENUMS: tuple[type[enum.StrEnum], ...] = (
    AlertStatus,
    ChatStatus,
    DeliveryKind,
    Edition,
    EventKind,
    Level,
    Platform,
    Source,
    State,
    Status,
    ToldState,
    ToldVia,
)


def init_app(app: Any) -> None:
    for vocabulary in ENUMS:
        app.jinja_env.globals[vocabulary.__name__] = vocabulary
