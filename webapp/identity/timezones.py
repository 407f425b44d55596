"""One time zone per member, used by the card, the pages and the timeline alike.

The member's choice comes first, then the zone their Lark client reported (the web app
reads the device's zone when it opens inside Lark), then the integration's: Feishu is
used from China (UTC+8), Lark international defaults to UTC. Times are always written
with their offset ("14:05 UTC+8"), so two people in two places read the same moment.
"""

from __future__ import annotations

from datetime import tzinfo
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from webapp.extensions import db
from webapp.models import LarkIntegration, Member, Platform

# The zones offered in the settings menu (any valid IANA name is accepted from the client).
CHOICES = (
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Moscow",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Australia/Sydney",
    "UTC",
)


@cache
def _known() -> frozenset[str]:
    return frozenset(available_timezones())


def valid(name: str | None) -> bool:
    return bool(name) and name in _known()


def default_name(integration: LarkIntegration | None) -> str:
    """The integration's zone: China time on Feishu, UTC on Lark international."""
    if integration is not None and integration.platform is Platform.FEISHU:
        return "Asia/Shanghai"
    return "UTC"


def name_for(member: Member | None, integration: LarkIntegration | None) -> str:
    """The member's chosen zone, else their Lark client's, else the integration's."""
    for candidate in (
        member.timezone if member else None,
        member.client_timezone if member else None,
    ):
        if valid(candidate):
            assert candidate is not None
            return candidate
    return default_name(integration)


def zone_for(member: Member | None, integration: LarkIntegration | None) -> tzinfo:
    return ZoneInfo(name_for(member, integration))


def choose(member: Member, name: str | None) -> None:
    """Save the member's chosen zone; None (or "") follows the Lark client again."""
    if name and not valid(name):
        raise ValueError(name)
    member.timezone = name or None
    db.session.commit()


def note_client(member: Member, name: str | None) -> None:
    """Remember the zone the member's Lark client reported; writes only when it changed."""
    if valid(name) and member.client_timezone != name:
        member.client_timezone = name
        db.session.commit()
