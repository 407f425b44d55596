"""All models, importable from one place: `from webapp.models import Incident`."""

from webapp.models.base import JSONType, UTCDateTime, utcnow
from webapp.models.core import Account, Channel, Member, Role, Team, channel_members, team_members
from webapp.models.delivery import (
    ApiUsage,
    Delivery,
    DeliveryStatus,
    DispatchRule,
    LarkApiEvent,
    WarRoom,
)
from webapp.models.incidents import (
    Alert,
    AlertSource,
    AlertStatus,
    Incident,
    IncidentEvent,
    Severity,
    Source,
    Status,
    incident_assignees,
    incident_responders,
)
from webapp.models.lark import (
    CallbackReceipt,
    CardMessage,
    Edition,
    LarkBinding,
    LarkIntegration,
    LicenseRefusal,
    Platform,
)
from webapp.models.schedules import CalendarFeed, Schedule, ScheduleLayer, ScheduleOverride

__all__ = [
    "Account",
    "Alert",
    "AlertSource",
    "AlertStatus",
    "ApiUsage",
    "CalendarFeed",
    "CallbackReceipt",
    "CardMessage",
    "Channel",
    "Delivery",
    "DeliveryStatus",
    "DispatchRule",
    "Edition",
    "Incident",
    "IncidentEvent",
    "JSONType",
    "LarkApiEvent",
    "LarkBinding",
    "LarkIntegration",
    "LicenseRefusal",
    "Member",
    "Platform",
    "Role",
    "Schedule",
    "ScheduleLayer",
    "ScheduleOverride",
    "Severity",
    "Source",
    "Status",
    "Team",
    "UTCDateTime",
    "WarRoom",
    "channel_members",
    "incident_assignees",
    "incident_responders",
    "team_members",
    "utcnow",
]
