"""The words of the incident timeline: one label per event kind."""

from __future__ import annotations

from flask_babel import gettext as _


def event_label(kind: str) -> str:
    """Human words for a timeline event kind."""
    labels = {
        "triggered": _("triggered"),
        "alert_joined": _("alert joined"),
        "alert_resolved": _("alert resolved"),
        "acknowledged": _("acknowledged"),
        "unacknowledged": _("unacknowledged"),
        "resolved": _("resolved"),
        "reopened": _("reopened"),
        "snoozed": _("snoozed"),
        "unsnoozed": _("unsnoozed"),
        "reassigned": _("reassigned"),
        "responder_added": _("responder added"),
        "commented": _("commented"),
        "notified": _("notified"),
        "notification_failed": _("notification failed"),
        "notification_waiting": _("notification waiting"),
        "notification_fell_back": _("notification fell back"),
        "emailed": _("e-mailed"),
        "war_room": _("war room"),
        "escalated": _("escalated"),
    }
    return labels.get(kind, kind.replace("_", " "))
