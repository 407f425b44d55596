"""A parsed alert, whatever tool sent it, and the error that names every bad field."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from webapp.models import AlertStatus, Severity


class InvalidAlerts(ValueError):
    """The body is not acceptable; `fields` maps each bad field to what is wrong with it."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("invalid alert body")
        self.fields = fields


@dataclass
class ParsedAlert:
    title: str
    severity: Severity
    status: AlertStatus
    dedup_key: str
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
