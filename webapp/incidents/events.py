"""The words of the incident timeline: one label per event kind."""

from __future__ import annotations

from flask_babel import gettext as _

from webapp.models import EventKind


def event_label(kind: str) -> str:
    """Human words for a timeline event kind."""
    labels: dict[str, str] = {
        EventKind.TRIGGERED: _("triggered"),
        EventKind.ALERT_JOINED: _("alert joined"),
        EventKind.ALERT_RESOLVED: _("alert resolved"),
        EventKind.ACKNOWLEDGED: _("acknowledged"),
        EventKind.UNACKNOWLEDGED: _("unacknowledged"),
        EventKind.RESOLVED: _("resolved"),
        EventKind.REOPENED: _("reopened"),
        EventKind.SNOOZED: _("snoozed"),
        EventKind.UNSNOOZED: _("unsnoozed"),
        EventKind.REASSIGNED: _("reassigned"),
        EventKind.RESPONDER_ADDED: _("responder added"),
        EventKind.COMMENTED: _("commented"),
        EventKind.NOTIFIED: _("notified"),
        EventKind.NOTIFICATION_FAILED: _("notification failed"),
        EventKind.NOTIFICATION_WAITING: _("notification waiting"),
        EventKind.NOTIFICATION_FELL_BACK: _("notification fell back"),
        EventKind.EMAILED: _("e-mailed"),
        EventKind.WAR_ROOM: _("war room"),
        EventKind.ESCALATED: _("escalated"),
        EventKind.SILENCED: _("silenced"),
        EventKind.UNSILENCED: _("no longer silenced"),
        EventKind.SILENCE_CHANGED: _("silence changed"),
        EventKind.STORM: _("alert storm"),
        EventKind.FLAPPING: _("alert flapping"),
        EventKind.NOT_PAGED: _("not paged"),
        EventKind.BUZZED: _("buzzed"),
        EventKind.BUZZ_FAILED: _("buzz not sent"),
    }
    return labels.get(kind, kind.replace("_", " "))
